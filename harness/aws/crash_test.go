package aws

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

func TestCrashNode(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	f.on("ec2:SendDiagnosticInterrupt", func(call) reply { return ec2OK("SendDiagnosticInterrupt", "<return>true</return>") })
	if err := p.CrashNode(testContext(t), "worker-2"); err != nil {
		t.Fatal(err)
	}
	sent := f.callsTo("ec2:SendDiagnosticInterrupt")
	if len(sent) != 1 {
		t.Fatalf("%d SendDiagnosticInterrupt calls", len(sent))
	}
	form := sent[0].Form
	if form.Get("InstanceId") != "i-0w2" || form.Get("DryRun") != "" || len(form) != 3 { // Action, Version, InstanceId
		t.Errorf("SendDiagnosticInterrupt form = %v", form)
	}
	// The crash is not a stop: nothing else that changes anything is sent.
	for _, c := range f.calls {
		if !readOnly(c.Op) && c.Op != "SendDiagnosticInterrupt" {
			t.Errorf("CrashNode sent %s %s", c.Service, c.Op)
		}
	}
}

func TestCrashNodeRefused(t *testing.T) {
	tests := []struct {
		name  string
		state string // of the control plane
		reply reply  // EC2's answer to SendDiagnosticInterrupt
		node  string
		sent  bool
		user  bool
		want  string
	}{
		{
			name: "instance type without diagnostic interrupts", reply: ec2Err("UnsupportedOperation", "The instance type t2.medium does not support diagnostic interrupts."),
			sent: true, user: true,
			want: "instance i-0cp (node ip-10-0-1-10.ec2.internal) cannot be crashed: EC2 refuses it a diagnostic interrupt (The instance type t2.medium does not support diagnostic interrupts.); EC2 supports them on Nitro-based instance types only",
		},
		{
			name: "stopping by the time EC2 sees it", reply: ec2Err("IncorrectInstanceState", "The instance 'i-0cp' is not in a state from which it can be interrupted."),
			sent: true, user: true, want: "cannot be crashed: The instance 'i-0cp' is not in a state",
		},
		{name: "stopped", state: "stopped", user: true, want: "instance i-0cp (node ip-10-0-1-10.ec2.internal) is stopped; only a running instance can be crashed"},
		{name: "unknown node", node: "ghost", want: "no instance tagged kdrill/cluster=drill is node ghost"},
		{name: "permissions", reply: ec2Err("UnauthorizedOperation", "You are not authorized to perform: ec2:SendDiagnosticInterrupt"), sent: true, user: true, want: "docs/aws.md lists the IAM permissions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			p := openFake(t, f, testOptions(f))
			if tt.state != "" {
				f.setState("i-0cp", tt.state)
			}
			f.on("ec2:SendDiagnosticInterrupt", func(call) reply { return tt.reply })
			node := tt.node
			if node == "" {
				node = "ip-10-0-1-10.ec2.internal"
			}
			err := p.CrashNode(testContext(t), node)
			var ue *UserError
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &ue) != tt.user {
				t.Errorf("CrashNode: %v (user error %v), want %q (user error %v)", err, errors.As(err, &ue), tt.want, tt.user)
			}
			if sent := len(f.callsTo("ec2:SendDiagnosticInterrupt")) > 0; sent != tt.sent {
				t.Errorf("interrupt sent: %v, want %v", sent, tt.sent)
			}
		})
	}
}

// instanceStatus is one item of DescribeInstanceStatus's answer.
func instanceStatus(id, state, status string) string {
	detail := ""
	if status == "impaired" || status == "ok" {
		check := map[string]string{"impaired": "failed", "ok": "passed"}[status]
		detail = "<details><item><name>reachability</name><status>" + check + "</status></item></details>"
	}
	return fmt.Sprintf(`<item><instanceId>%s</instanceId><availabilityZone>us-east-1a</availabilityZone><instanceState><code>16</code><name>%s</name></instanceState>`+
		`<systemStatus><status>ok</status></systemStatus><instanceStatus><status>%s</status>%s</instanceStatus></item>`, id, state, status, detail)
}

func TestNodeImpaired(t *testing.T) {
	tests := []struct {
		state, status string
		want          bool
	}{
		{"running", "impaired", true},
		{"running", "ok", false},
		{"running", "initializing", false},
		{"stopped", "not-applicable", false},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			f := newFakeAWS(t)
			p := openFake(t, f, testOptions(f))
			f.on("ec2:DescribeInstanceStatus", func(c call) reply {
				return ec2OK("DescribeInstanceStatus", "<instanceStatusSet>"+instanceStatus("i-0cp", tt.state, tt.status)+"</instanceStatusSet>")
			})
			got, err := p.NodeImpaired(testContext(t), "ip-10-0-1-10.ec2.internal")
			if err != nil || got != tt.want {
				t.Errorf("NodeImpaired = %v, %v; want %v", got, err, tt.want)
			}
			form := f.callsTo("ec2:DescribeInstanceStatus")[0].Form
			if form.Get("InstanceId.1") != "i-0cp" || form.Get("InstanceId.2") != "" || form.Get("IncludeAllInstances") != "true" || len(form) != 4 {
				t.Errorf("DescribeInstanceStatus form = %v", form)
			}
		})
	}

	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	f.on("ec2:DescribeInstanceStatus", func(call) reply { return ec2OK("DescribeInstanceStatus", "<instanceStatusSet/>") })
	if _, err := p.NodeImpaired(testContext(t), "worker-2"); err == nil || !strings.Contains(err.Error(), "EC2 returned none") {
		t.Errorf("NodeImpaired without a status: %v", err)
	}
}

func TestRebootNode(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	ctx := testContext(t)
	f.on("ec2:RebootInstances", func(call) reply { return ec2OK("RebootInstances", "<return>true</return>") })
	if err := p.RebootNode(ctx, "worker-2"); err != nil {
		t.Fatal(err)
	}
	form := f.callsTo("ec2:RebootInstances")[0].Form
	if form.Get("InstanceId.1") != "i-0w2" || form.Get("InstanceId.2") != "" || len(form) != 3 {
		t.Errorf("RebootInstances form = %v", form)
	}
	f.on("ec2:RebootInstances", func(call) reply {
		return ec2Err("IncorrectInstanceState", "The instance 'i-0w2' is not in a state from which it can be rebooted.")
	})
	err := p.RebootNode(ctx, "worker-2")
	var ue *UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "instance i-0w2 (node worker-2) cannot be rebooted: The instance 'i-0w2' is not in a state") {
		t.Errorf("RebootNode of a stopped instance: %v", err)
	}
}

// cborTime is a timestamp as RPC v2 CBOR carries it.
func cborTime(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

func TestAlarmState(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	ctx := testContext(t)
	at := time.Date(2025, 3, 1, 12, 0, 5, 250e6, time.UTC)
	f.on("cloudwatch:DescribeAlarms", func(c call) reply {
		names, _ := c.CBOR["AlarmNames"].(cbor.List)
		if len(names) != 1 || len(c.CBOR) != 1 {
			t.Errorf("DescribeAlarms input = %#v", c.CBOR)
		}
		list := cbor.List{}
		if names[0] == cbor.String("kdrill-i-0cp-status-reboot") {
			a := seedAlarm("kdrill-i-0cp-status-reboot", "i-0cp")
			a["StateValue"], a["StateReason"], a["StateUpdatedTimestamp"] = cbor.String("ALARM"), cbor.String("Threshold Crossed: 2 out of the last 2 datapoints"), cborTime(at)
			list = append(list, a)
		}
		return cwOK(cbor.Map{"MetricAlarms": list, "CompositeAlarms": cbor.List{}})
	})
	state, reason, updated, err := p.AlarmState(ctx, "kdrill-i-0cp-status-reboot")
	if err != nil {
		t.Fatal(err)
	}
	if state != "ALARM" || reason != "Threshold Crossed: 2 out of the last 2 datapoints" || !updated.Equal(at) {
		t.Errorf("AlarmState = %s, %q, %v", state, reason, updated)
	}
	if _, _, _, err := p.AlarmState(ctx, "missing"); !errors.Is(err, ErrNoAlarm) || err.Error() != "alarm missing: no such alarm" {
		t.Errorf("AlarmState of a missing alarm: %v", err)
	}
}

// stateUpdate is a StateUpdate history item as CloudWatch returns it.
func stateUpdate(name, from, to string, at time.Time) cbor.Map {
	return cbor.Map{
		"AlarmName":       cbor.String(name),
		"AlarmType":       cbor.String("MetricAlarm"),
		"Timestamp":       cborTime(at),
		"HistoryItemType": cbor.String("StateUpdate"),
		"HistorySummary":  cbor.String("Alarm updated from " + from + " to " + to),
		"HistoryData": cbor.String(`{"version":"1.0","oldState":{"stateValue":"` + from + `","stateReason":"r"},` +
			`"newState":{"stateValue":"` + to + `","stateReason":"r"}}`),
	}
}

func TestAlarmFiredSince(t *testing.T) {
	since := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	fired := since.Add(2*time.Minute + 500*time.Millisecond).Truncate(time.Millisecond)
	tests := []struct {
		name  string
		pages []cbor.List // the history from since on, oldest first, in pages
		want  bool
	}{
		{"fired and recovered", []cbor.List{
			{stateUpdate("a", "INSUFFICIENT_DATA", "OK", since.Add(time.Minute))},
			{stateUpdate("a", "OK", "ALARM", fired), stateUpdate("a", "ALARM", "OK", fired.Add(time.Minute))},
		}, true},
		{"never fired", []cbor.List{{stateUpdate("a", "INSUFFICIENT_DATA", "OK", since.Add(time.Minute))}}, false},
		{"no history", []cbor.List{{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			p := openFake(t, f, testOptions(f))
			f.on("cloudwatch:DescribeAlarmHistory", func(c call) reply {
				page := 0
				if tok, ok := c.CBOR["NextToken"].(cbor.String); ok {
					fmt.Sscanf(string(tok), "page-%d", &page)
				}
				out := cbor.Map{"AlarmHistoryItems": tt.pages[page]}
				if page+1 < len(tt.pages) {
					out["NextToken"] = cbor.String(fmt.Sprintf("page-%d", page+1))
				}
				return cwOK(out)
			})
			ok, at, err := p.AlarmFiredSince(testContext(t), "a", since)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want || ok && !at.Equal(fired) || !ok && !at.IsZero() {
				t.Errorf("AlarmFiredSince = %v at %v; want %v at %v", ok, at, tt.want, fired)
			}
			calls := f.callsTo("cloudwatch:DescribeAlarmHistory")
			if len(calls) > len(tt.pages) || tt.want && len(calls) != 2 || !tt.want && len(calls) != len(tt.pages) {
				t.Errorf("%d DescribeAlarmHistory calls for %d pages", len(calls), len(tt.pages))
			}
			in := calls[0].CBOR
			want := map[string]cbor.Value{
				"AlarmName":       cbor.String("a"),
				"HistoryItemType": cbor.String("StateUpdate"),
				"ScanBy":          cbor.String("TimestampAscending"),
			}
			for k, v := range want {
				if in[k] != v {
					t.Errorf("%s = %#v, want %#v", k, in[k], v)
				}
			}
			start, err := cbor.AsTime(in["StartDate"])
			if err != nil || !start.Equal(since.Truncate(time.Millisecond)) {
				t.Errorf("StartDate = %v (%v), want %v", start, err, since.Truncate(time.Millisecond))
			}
			for _, unset := range []string{"EndDate", "AlarmTypes", "MaxRecords", "AlarmContributorId"} {
				if _, ok := in[unset]; ok {
					t.Errorf("%s is set: %#v", unset, in[unset])
				}
			}
		})
	}
}

func TestDryRunCrash(t *testing.T) {
	f := newFakeAWS(t)
	for _, op := range []string{"ec2:SendDiagnosticInterrupt", "ec2:RebootInstances"} {
		f.on(op, func(c call) reply {
			t.Errorf("a dry run sent %s %s to AWS", c.Service, c.Op)
			return errorReply(c.Service, "DryRunViolated", "no")
		})
	}
	var out bytes.Buffer
	o := testOptions(f)
	o.DryRun, o.DryRunOut = true, &out
	p := openFake(t, f, o)
	ctx := testContext(t)
	if err := p.CrashNode(ctx, "ip-10-0-1-10.ec2.internal"); !errors.Is(err, ErrDryRun) {
		t.Errorf("CrashNode: %v, want ErrDryRun", err)
	}
	if err := p.RebootNode(ctx, "ip-10-0-1-10.ec2.internal"); !errors.Is(err, ErrDryRun) {
		t.Errorf("RebootNode: %v, want ErrDryRun", err)
	}
	want := "aws ec2 SendDiagnosticInterrupt {\"InstanceId\":\"i-0cp\"}\naws ec2 RebootInstances {\"InstanceIds\":[\"i-0cp\"]}\n"
	if out.String() != want {
		t.Errorf("dry-run output\n%s\nwant\n%s", out.String(), want)
	}
	// What only watches still asks AWS.
	f.on("ec2:DescribeInstanceStatus", func(call) reply {
		return ec2OK("DescribeInstanceStatus", "<instanceStatusSet>"+instanceStatus("i-0cp", "running", "ok")+"</instanceStatusSet>")
	})
	if impaired, err := p.NodeImpaired(ctx, "ip-10-0-1-10.ec2.internal"); err != nil || impaired {
		t.Errorf("NodeImpaired in a dry run: %v, %v", impaired, err)
	}
	for _, c := range f.calls {
		if !readOnly(c.Op) {
			t.Errorf("mutating call reached the server: %s %s", c.Service, c.Op)
		}
	}
}
