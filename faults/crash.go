package faults

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness"
)

// Crash kills a process on the control-plane node with SIGKILL, as a crash
// would: nothing is removed, so whatever supervises the process (the kubelet
// for static pods, systemd for the kubelet) is what brings it back.
//
// With Supervisor set, the mitigation is switched off for the length of the
// fault: for a static pod the kubelet is stopped first, for the kubelet a
// runtime drop-in sets Restart=no. Revert switches it back on.
type Crash struct {
	FaultName string
	Process   string // exact process name, as pkill -x matches it
	// Supervisor names what would restart the process: "kubelet" or
	// "systemd". Used only when HoldSupervisor is set.
	Supervisor     string
	HoldSupervisor bool
}

// APIServerCrash kills kube-apiserver; the kubelet restarts its static pod.
func APIServerCrash() *Crash {
	return &Crash{FaultName: "apiserver-crash", Process: "kube-apiserver", Supervisor: "kubelet"}
}

// KubeletCrash kills the kubelet; systemd restarts it.
func KubeletCrash() *Crash {
	return &Crash{FaultName: "kubelet-crash", Process: "kubelet", Supervisor: "systemd"}
}

// Name implements Fault.
func (c *Crash) Name() string { return c.FaultName }

// noRestartDropIn keeps systemd from restarting the kubelet while it exists;
// under /run it also disappears with a reboot.
const noRestartDropIn = "/run/systemd/system/kubelet.service.d/99-kdrill-no-restart.conf"

// Plan implements Fault.
func (c *Crash) Plan(ctx context.Context, t harness.Target) (Params, error) {
	cp, err := controlPlane(ctx, t)
	if err != nil {
		return nil, err
	}
	return Params{"node": cp.Name, "process": c.Process, "supervisor": c.Supervisor, "hold": strconv.FormatBool(c.HoldSupervisor)}, nil
}

// Apply implements Fault.
func (c *Crash) Apply(ctx context.Context, t harness.Target, p Params) error {
	_, err := c.Strike(ctx, t, p)
	return err
}

// Strike implements Striker: the node reads its clock as soon as pkill has
// sent the signal.
func (c *Crash) Strike(ctx context.Context, t harness.Target, p Params) (time.Time, error) {
	node := p["node"]
	if p["hold"] == "true" {
		if err := holdSupervisor(ctx, t, node, p["supervisor"]); err != nil {
			return time.Time{}, err
		}
	}
	if !processName.MatchString(p["process"]) {
		return time.Time{}, fmt.Errorf("kill %q on %s: not a process name", p["process"], node)
	}
	out, err := sh(ctx, t, node, "pkill -KILL -x "+p["process"]+" && date +%s.%N")
	if err != nil {
		return time.Time{}, fmt.Errorf("kill %s on %s (is it running?): %w", p["process"], node, err)
	}
	return nodeTime(out), nil
}

// processName is what Strike passes to the shell unquoted.
var processName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// nodeTime parses the output of date +%s.%N; the zero time if it is not
// that (a date without %N prints a literal N).
func nodeTime(out []byte) time.Time {
	sec, frac, ok := strings.Cut(strings.TrimSpace(string(out)), ".")
	if !ok || len(frac) != 9 {
		return time.Time{}
	}
	s, err1 := strconv.ParseInt(sec, 10, 64)
	ns, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || s <= 0 || ns < 0 {
		return time.Time{}
	}
	return time.Unix(s, ns)
}

// Revert implements Fault. A crash leaves nothing behind to undo; a held
// supervisor is released and the kubelet started if it is not running.
func (c *Crash) Revert(ctx context.Context, t harness.Target, p Params) error {
	if p["hold"] != "true" {
		return nil
	}
	node := p["node"]
	script := "systemctl start kubelet"
	if p["supervisor"] == "systemd" {
		script = "rm -f " + noRestartDropIn + " && systemctl daemon-reload && systemctl start kubelet"
	}
	if _, err := sh(ctx, t, node, script); err != nil {
		return fmt.Errorf("release %s on %s: %w", p["supervisor"], node, err)
	}
	return nil
}

func holdSupervisor(ctx context.Context, t harness.Target, node, supervisor string) error {
	var script string
	switch supervisor {
	case "kubelet":
		// Stopping the kubelet leaves its containers running; it just
		// stops restarting them.
		script = "systemctl stop kubelet"
	case "systemd":
		script = "mkdir -p $(dirname " + noRestartDropIn + ") && printf '[Service]\\nRestart=no\\n' > " + noRestartDropIn + " && systemctl daemon-reload"
	default:
		return fmt.Errorf("cannot hold supervisor %q", supervisor)
	}
	if _, err := sh(ctx, t, node, script); err != nil {
		return fmt.Errorf("hold %s on %s: %w", supervisor, node, err)
	}
	return nil
}
