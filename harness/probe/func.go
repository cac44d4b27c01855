package probe

import (
	"context"
	"fmt"
	"strings"
)

// Func adapts a function to a Prober, for checks that need no state of their
// own.
type Func struct {
	ProberName string
	Every      Schedule
	Fn         func(ctx context.Context) Result
}

// Name implements Prober.
func (f Func) Name() string { return f.ProberName }

// Schedule implements Prober.
func (f Func) Schedule() Schedule { return f.Every }

// Probe implements Prober.
func (f Func) Probe(ctx context.Context) Result { return f.Fn(ctx) }

// ExecFunc runs a command on a node, as harness.Target's Exec does.
type ExecFunc func(ctx context.Context, node string, cmd ...string) ([]byte, error)

// Command returns a prober that runs cmd on node and succeeds when it exits
// zero; for example the kubelet's health on the control-plane node:
//
//	probe.Command(probe.Kubelet, s, target.Exec, "cp-node",
//		"curl", "-fsS", "http://127.0.0.1:10248/healthz")
func Command(name string, s Schedule, exec ExecFunc, node string, cmd ...string) Func {
	return Func{ProberName: name, Every: s, Fn: func(ctx context.Context) Result {
		out, err := exec(ctx, node, cmd...)
		detail := strings.TrimSpace(string(out))
		if len(detail) > 200 {
			detail = detail[:200]
		}
		if err != nil {
			return Result{Detail: fmt.Sprintf("on %s: %s: %v", node, strings.Join(cmd, " "), err)}
		}
		return Result{OK: true, Detail: detail}
	}}
}
