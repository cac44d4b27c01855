package faults

import (
	"context"
	"fmt"

	"github.com/kdrill/kdrill/harness"
)

// Crashers are targets whose machines kdrill can crash while the platform
// still counts them as running: on AWS a diagnostic interrupt makes the
// guest kernel panic, which fails the instance status check (a machine
// stopped through the API publishes no status checks, so an alarm on them
// never sees it).
type Crashers interface {
	CrashNode(ctx context.Context, node string) error
	// NodeImpaired reports whether the machine fails its status check.
	NodeImpaired(ctx context.Context, node string) (bool, error)
	RebootNode(ctx context.Context, node string) error
}

// MachineCrash crashes the control-plane machine: the seed's VM shutdown as
// the platform's status check sees it.
type MachineCrash struct{}

// Name implements Fault.
func (m *MachineCrash) Name() string { return "vm-crash" }

// Plan implements Fault.
func (m *MachineCrash) Plan(ctx context.Context, t harness.Target) (Params, error) {
	if _, ok := t.(Crashers); !ok {
		return nil, fmt.Errorf("this target cannot crash machines")
	}
	cp, err := controlPlane(ctx, t)
	if err != nil {
		return nil, err
	}
	return Params{"node": cp.Name}, nil
}

// Apply implements Fault.
func (m *MachineCrash) Apply(ctx context.Context, t harness.Target, p Params) error {
	return t.(Crashers).CrashNode(ctx, p["node"])
}

// Revert implements Fault: reboot the machine unless it already passes its
// status check (the alarm rebooted it).
func (m *MachineCrash) Revert(ctx context.Context, t harness.Target, p Params) error {
	c, ok := t.(Crashers)
	if !ok {
		return fmt.Errorf("this target cannot reboot machines")
	}
	impaired, err := c.NodeImpaired(ctx, p["node"])
	if err != nil {
		return err
	}
	if !impaired {
		return nil
	}
	return c.RebootNode(ctx, p["node"])
}
