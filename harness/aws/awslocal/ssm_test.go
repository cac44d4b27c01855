package awslocal

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// runCommand sends AWS-RunShellScript to one instance and waits for the
// invocation to end.
func (f *fixture) runCommand(t *testing.T, id string, commands ...string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	ctx := testContext(t)
	sent, err := f.c.ssm.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds:  []string{id},
		Parameters:   map[string][]string{"commands": commands},
	})
	if err != nil {
		t.Fatal(err)
	}
	cmdID := aws.ToString(sent.Command.CommandId)
	var out *ssm.GetCommandInvocationOutput
	eventually(t, 10*time.Second, "the invocation to end", func() bool {
		out, err = f.c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(cmdID), InstanceId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		switch out.Status {
		case types.CommandInvocationStatusPending, types.CommandInvocationStatusInProgress, types.CommandInvocationStatusDelayed:
			return false
		}
		return true
	})
	return out
}

func TestRunShellScript(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name     string
		commands []string
		status   types.CommandInvocationStatus
		code     int32
		stdout   string
		stderr   string
	}{
		{"success", []string{"echo hello", "echo world"}, types.CommandInvocationStatusSuccess, 0, "hello\nworld\n", ""},
		{"failure", []string{"echo oops >&2", "exit 3"}, types.CommandInvocationStatusFailed, 3, "", "oops\n"},
		{"state between commands", []string{"x=42", "echo $x"}, types.CommandInvocationStatusSuccess, 0, "42\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := f.runCommand(t, f.cp, tt.commands...)
			if out.Status != tt.status || out.ResponseCode != tt.code || aws.ToString(out.StandardOutputContent) != tt.stdout ||
				aws.ToString(out.StandardErrorContent) != tt.stderr {
				t.Errorf("got %s code %d out %q err %q", out.Status, out.ResponseCode, aws.ToString(out.StandardOutputContent), aws.ToString(out.StandardErrorContent))
			}
			if aws.ToString(out.ExecutionStartDateTime) == "" || aws.ToString(out.ExecutionEndDateTime) == "" || aws.ToString(out.PluginName) != "aws:runShellScript" {
				t.Errorf("times %q %q plugin %q", aws.ToString(out.ExecutionStartDateTime), aws.ToString(out.ExecutionEndDateTime), aws.ToString(out.PluginName))
			}
		})
	}
}

func TestRunShellScriptOnStoppedInstance(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	if _, err := f.c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{f.workers[0]}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the worker to stop", func() bool { return f.state(t, f.workers[0]) == ec2types.InstanceStateNameStopped })
	out := f.runCommand(t, f.workers[0], "echo unreachable")
	if out.Status != types.CommandInvocationStatusFailed || aws.ToString(out.StatusDetails) != "Undeliverable" || out.ResponseCode != -1 {
		t.Errorf("on a stopped instance: %s/%s code %d", out.Status, aws.ToString(out.StatusDetails), out.ResponseCode)
	}
	list, err := f.c.ssm.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{InstanceId: aws.String(f.workers[0]), Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.CommandInvocations) != 1 || len(list.CommandInvocations[0].CommandPlugins) != 1 ||
		list.CommandInvocations[0].CommandPlugins[0].Status != types.CommandPluginStatusFailed {
		t.Errorf("listed %+v", list.CommandInvocations)
	}
}

func TestSendCommandErrors(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	_, err := f.c.ssm.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{"i-0123456789abcdef0"},
		Parameters: map[string][]string{"commands": {"true"}}})
	var bad *types.InvalidInstanceId
	if !errors.As(err, &bad) {
		t.Errorf("unknown instance: %T %v, want *types.InvalidInstanceId", err, err)
	}
	_, err = f.c.ssm.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunPowerShellScript"), InstanceIds: []string{f.cp},
		Parameters: map[string][]string{"commands": {"true"}}})
	var doc *types.InvalidDocument
	if !errors.As(err, &doc) {
		t.Errorf("unknown document: %T %v", err, err)
	}
	_, err = f.c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000"), InstanceId: aws.String(f.cp)})
	var none *types.InvocationDoesNotExist
	if !errors.As(err, &none) {
		t.Errorf("unknown command: %T %v", err, err)
	}
}
