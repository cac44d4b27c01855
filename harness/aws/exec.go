package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// shellDocument is the SSM document that runs shell commands as root.
const shellDocument = "AWS-RunShellScript"

// invocationGrace is how long Exec keeps asking for a command's invocation
// that SSM does not know yet: SendCommand returns before the invocation
// record exists.
const invocationGrace = 30 * time.Second

// Exec implements harness.Target through SSM Run Command: cmd is quoted
// into one shell command line, sent with AWS-RunShellScript, and its
// invocation polled with backoff until it ends. It returns standard output
// (SSM keeps at most the first 24,000 characters of it); a non-zero exit is
// an error carrying standard error. The node must run the SSM agent with a
// role that lets it register. If ctx ends first, the command is cancelled.
func (p *Provider) Exec(ctx context.Context, node string, cmd ...string) ([]byte, error) {
	id, err := p.InstanceID(ctx, node)
	if err != nil {
		return nil, err
	}
	line := shellJoin(cmd)
	params := map[string][]string{"commands": {line}}
	if dl, ok := ctx.Deadline(); ok {
		// SSM would otherwise let the command run for an hour after the
		// caller has given up on it.
		secs := int(math.Ceil(time.Until(dl).Seconds()))
		params["executionTimeout"] = []string{strconv.Itoa(min(max(secs, 1), 172800))}
	}
	sent, err := p.ssm.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName:   awssdk.String(shellDocument),
		InstanceIds:    []string{id},
		Parameters:     params,
		TimeoutSeconds: awssdk.Int32(60), // to start running; the minimum is 30
		Comment:        awssdk.String("kdrill exec"),
	})
	if err != nil {
		return nil, p.classify(fmt.Errorf("%s on %s (%s): send command: %w", line, node, id, err))
	}
	if sent.Command == nil || sent.Command.CommandId == nil {
		return nil, fmt.Errorf("%s on %s (%s): SSM accepted the command without a command id", line, node, id)
	}
	cmdID := *sent.Command.CommandId
	out, err := p.wait(ctx, cmdID, id)
	if err != nil {
		if ctx.Err() != nil {
			p.cancel(cmdID, id)
		}
		return nil, fmt.Errorf("%s on %s (%s): %w", line, node, id, err)
	}
	stdout := []byte(awssdk.ToString(out.StandardOutputContent))
	if out.Status == ssmtypes.CommandInvocationStatusSuccess {
		return stdout, nil
	}
	stderr := strings.TrimSpace(awssdk.ToString(out.StandardErrorContent))
	if out.Status == ssmtypes.CommandInvocationStatusFailed && out.ResponseCode > 0 {
		return stdout, fmt.Errorf("%s on %s (%s): exit status %d: %s", line, node, id, out.ResponseCode, stderr)
	}
	return stdout, fmt.Errorf("%s on %s (%s): SSM command %s %s (%s): %s", line, node, id, cmdID, out.Status, awssdk.ToString(out.StatusDetails), stderr)
}

// wait polls the invocation until it is in a final state.
func (p *Provider) wait(ctx context.Context, cmdID, instanceID string) (*ssm.GetCommandInvocationOutput, error) {
	delay := p.pollMin
	appeared := time.Now().Add(invocationGrace)
	for {
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(2*delay, p.pollMax)
		out, err := p.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{
			CommandId:  awssdk.String(cmdID),
			InstanceId: awssdk.String(instanceID),
		})
		var missing *ssmtypes.InvocationDoesNotExist
		switch {
		case errors.As(err, &missing) && time.Now().Before(appeared):
			continue
		case err != nil:
			return nil, p.classify(fmt.Errorf("get SSM command %s: %w", cmdID, err))
		}
		switch out.Status {
		case ssmtypes.CommandInvocationStatusPending, ssmtypes.CommandInvocationStatusInProgress,
			ssmtypes.CommandInvocationStatusDelayed, ssmtypes.CommandInvocationStatusCancelling:
			continue
		}
		return out, nil
	}
}

// cancel asks SSM to drop a command its caller stopped waiting for, so a
// health check that timed out does not run minutes later.
func (p *Provider) cancel(cmdID, instanceID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.ssm.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: awssdk.String(cmdID), InstanceIds: []string{instanceID}}); err != nil {
		slog.Debug("cancel SSM command", "command", cmdID, "instance", instanceID, "err", err)
	}
}

// shellJoin quotes each argument for a POSIX shell, leaving plain words as
// they are so the command reads naturally in SSM's console.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
