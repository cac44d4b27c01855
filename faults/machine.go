package faults

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kdrill/kdrill/harness"
)

// Machines is a target whose nodes kdrill can power off and on: node
// containers on kind, instances on AWS.
type Machines interface {
	StopNode(ctx context.Context, node string, force bool) error
	StartNode(ctx context.Context, node string) error
	NodeRunning(ctx context.Context, node string) (bool, error)
	// MachineID names the machine under the node name now (a container
	// id, an instance id): a replacement has another.
	MachineID(ctx context.Context, node string) (string, error)
}

// MachineStop stops the control-plane machine: a clean shutdown, or with
// Force a power cut (SIGKILL of the node container, force-stop on AWS).
type MachineStop struct{ Force bool }

// Name implements Fault.
func (m *MachineStop) Name() string { return "vm-shutdown" }

// Plan implements Fault.
func (m *MachineStop) Plan(ctx context.Context, t harness.Target) (Params, error) {
	if _, ok := t.(Machines); !ok {
		return nil, fmt.Errorf("this target cannot stop machines")
	}
	cp, err := controlPlane(ctx, t)
	if err != nil {
		return nil, err
	}
	return Params{"node": cp.Name, "force": strconv.FormatBool(m.Force)}, nil
}

// Apply implements Fault.
func (m *MachineStop) Apply(ctx context.Context, t harness.Target, p Params) error {
	return t.(Machines).StopNode(ctx, p["node"], p["force"] == "true")
}

// Revert implements Fault: start the machine unless something (the
// status-check mitigation) already has.
func (m *MachineStop) Revert(ctx context.Context, t harness.Target, p Params) error {
	ms, ok := t.(Machines)
	if !ok {
		return fmt.Errorf("this target cannot start machines")
	}
	running, err := ms.NodeRunning(ctx, p["node"])
	if err != nil {
		return err
	}
	if running {
		return nil
	}
	return ms.StartNode(ctx, p["node"])
}
