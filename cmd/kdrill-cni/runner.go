package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
)

// runner runs a command and returns its standard output. It is the seam
// that lets the reconcile logic be tested without a network namespace.
type runner interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// execRunner runs commands on the host.
type execRunner struct {
	log *slog.Logger
}

// Run runs name with args, feeding it stdin if that is not nil. A failure
// carries the command line and its standard error, which is where ip and
// iptables say what went wrong.
func (r execRunner) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r.log.Debug("run", "cmd", name, "args", args)
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("run %s %s: %w: %s",
			name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
