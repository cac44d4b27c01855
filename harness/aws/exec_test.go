package aws

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/internal/leaktest"
)

// ssmScript answers SendCommand with cmd-1 and GetCommandInvocation with
// the replies in turn, the last one for good.
func ssmScript(f *fakeAWS, replies ...reply) {
	f.on("ssm:SendCommand", func(call) reply {
		return ssmOK(map[string]any{"Command": map[string]any{"CommandId": "cmd-1", "Status": "Pending"}})
	})
	var n atomic.Int32
	f.on("ssm:GetCommandInvocation", func(call) reply {
		i := int(n.Add(1)) - 1
		return replies[min(i, len(replies)-1)]
	})
}

func invocation(status string, code int, stdout, stderr string) reply {
	return ssmOK(map[string]any{
		"CommandId": "cmd-1", "InstanceId": "i-0cp", "Status": status, "StatusDetails": status,
		"ResponseCode": code, "StandardOutputContent": stdout, "StandardErrorContent": stderr,
	})
}

func TestExec(t *testing.T) {
	leaktest.Check(t)
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	ssmScript(f,
		ssmErr("InvocationDoesNotExist", ""), // right after SendCommand
		invocation("Pending", -1, "", ""),
		invocation("InProgress", -1, "", ""),
		invocation("Success", 0, "kube-apiserver\n", ""),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := p.Exec(ctx, "ip-10-0-1-10.ec2.internal", "sh", "-c", "crictl ps --name 'kube-apiserver' -q")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "kube-apiserver\n" {
		t.Errorf("stdout = %q", out)
	}

	sent := f.callsTo("ssm:SendCommand")
	if len(sent) != 1 {
		t.Fatalf("%d SendCommand calls", len(sent))
	}
	in := sent[0].JSON
	if in["DocumentName"] != "AWS-RunShellScript" {
		t.Errorf("DocumentName = %v", in["DocumentName"])
	}
	if ids, _ := in["InstanceIds"].([]any); len(ids) != 1 || ids[0] != "i-0cp" {
		t.Errorf("InstanceIds = %v", in["InstanceIds"])
	}
	params, _ := in["Parameters"].(map[string]any)
	cmds, _ := params["commands"].([]any)
	wantLine := `sh -c 'crictl ps --name '\''kube-apiserver'\'' -q'`
	if len(cmds) != 1 || cmds[0] != wantLine {
		t.Errorf("commands = %v, want [%s]", params["commands"], wantLine)
	}
	if to, _ := params["executionTimeout"].([]any); len(to) != 1 || (to[0] != "20" && to[0] != "19") {
		t.Errorf("executionTimeout = %v, want the context's 20 s", params["executionTimeout"])
	}
	if in["TimeoutSeconds"] != float64(60) {
		t.Errorf("TimeoutSeconds = %v", in["TimeoutSeconds"])
	}
	gets := f.callsTo("ssm:GetCommandInvocation")
	if len(gets) != 4 {
		t.Errorf("%d GetCommandInvocation calls, want 4", len(gets))
	}
	for _, g := range gets {
		if g.JSON["CommandId"] != "cmd-1" || g.JSON["InstanceId"] != "i-0cp" {
			t.Errorf("GetCommandInvocation input = %v", g.JSON)
		}
	}
}

func TestExecFailures(t *testing.T) {
	tests := []struct {
		name  string
		reply reply
		want  string
	}{
		{"non-zero exit", invocation("Failed", 2, "partial", "pkill: no process found\n"), "pkill -KILL -x kube-apiserver on ip-10-0-1-10.ec2.internal (i-0cp): exit status 2: pkill: no process found"},
		{"timed out", invocation("TimedOut", -1, "", ""), "SSM command cmd-1 TimedOut"},
		{"cancelled", invocation("Cancelled", -1, "", ""), "SSM command cmd-1 Cancelled"},
		{"agent error", ssmErr("InvalidInstanceId", "Instances not in a valid state for account"), "InvalidInstanceId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			p := openFake(t, f, testOptions(f))
			ssmScript(f, tt.reply)
			_, err := p.Exec(testContext(t), "ip-10-0-1-10.ec2.internal", "pkill", "-KILL", "-x", "kube-apiserver")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Exec: %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExecCancelsOnContextEnd(t *testing.T) {
	leaktest.Check(t)
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	ssmScript(f, invocation("InProgress", -1, "", ""))
	f.on("ssm:CancelCommand", func(call) reply { return ssmOK(map[string]any{}) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Exec(ctx, "worker-2", "true")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec: %v, want the context's deadline", err)
	}
	cancels := f.callsTo("ssm:CancelCommand")
	if len(cancels) != 1 || cancels[0].JSON["CommandId"] != "cmd-1" {
		t.Fatalf("CancelCommand calls: %+v", cancels)
	}
	if ids, _ := cancels[0].JSON["InstanceIds"].([]any); len(ids) != 1 || ids[0] != "i-0w2" {
		t.Errorf("CancelCommand InstanceIds = %v", cancels[0].JSON["InstanceIds"])
	}
}

func TestShellJoin(t *testing.T) {
	args := []string{"sh", "-c", "echo 'it''s' \"$HOME\" && ls /", "", "a b", "x=1", "--name=^etcd$"}
	line := shellJoin(args)
	// The shell splits the joined line back into the same arguments.
	got, err := exec.Command("sh", "-c", "set -- "+line+`; for a in "$@"; do printf '[%s]' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, a := range args {
		want += "[" + a + "]"
	}
	if string(got) != want {
		t.Errorf("shellJoin(%q) = %s\nsplits into %s\nwant        %s", args, line, got, want)
	}
	if shellJoin([]string{"systemctl", "start", "kubelet"}) != "systemctl start kubelet" {
		t.Errorf("plain words are quoted: %s", shellJoin([]string{"systemctl", "start", "kubelet"}))
	}
}

func execSh(args ...string) ([]byte, error) { return exec.Command("sh", args...).CombinedOutput() }
