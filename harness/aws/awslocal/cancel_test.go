package awslocal

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestCancelCommand(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	sent, err := f.c.ssm.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{f.cp},
		Parameters: map[string][]string{"commands": {"sleep 30"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := sent.Command.CommandId
	invocation := func() *ssm.GetCommandInvocationOutput {
		t.Helper()
		out, err := f.c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: id, InstanceId: aws.String(f.cp)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	eventually(t, 5*time.Second, "the command to run", func() bool { return invocation().Status == types.CommandInvocationStatusInProgress })
	start := time.Now()
	if _, err := f.c.ssm.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: id}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the command to be cancelled", func() bool { return invocation().Status == types.CommandInvocationStatusCancelled })
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the script ran on for %s after the cancel", d)
	}
	if out := invocation(); aws.ToString(out.StatusDetails) != "Cancelled" || out.ResponseCode != -1 {
		t.Errorf("cancelled invocation: %s code %d", aws.ToString(out.StatusDetails), out.ResponseCode)
	}
	list, err := f.c.ssm.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.CommandInvocations) != 1 || list.CommandInvocations[0].Status != types.CommandInvocationStatusCancelled {
		t.Errorf("listed %+v", list.CommandInvocations)
	}
	// Cancelling what is over changes nothing.
	done := f.runCommand(t, f.cp, "echo done")
	if _, err := f.c.ssm.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: done.CommandId}); err != nil {
		t.Fatal(err)
	}
	if out, err := f.c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: done.CommandId, InstanceId: aws.String(f.cp)}); err != nil ||
		out.Status != types.CommandInvocationStatusSuccess {
		t.Errorf("a finished command after a cancel: %v %v", out.Status, err)
	}

	_, err = f.c.ssm.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000")})
	var unknown *types.InvalidCommandId
	if !errors.As(err, &unknown) {
		t.Errorf("unknown command: %T %v, want *types.InvalidCommandId", err, err)
	}
	_, err = f.c.ssm.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: id, InstanceIds: []string{f.workers[0]}})
	var notTarget *types.InvalidInstanceId
	if !errors.As(err, &notTarget) {
		t.Errorf("an instance the command was not sent to: %T %v, want *types.InvalidInstanceId", err, err)
	}
}
