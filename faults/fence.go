package faults

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness"
)

// ControlPlaneFence is the re-provisioning runbook's undo record. Apply
// fences the old control plane off with a power cut, so that two never
// serve at once, and its journal entry keeps what a re-provisioning needs:
// the old machine, the zone to move to, and the backups.
//
// Revert leaves the cluster with a serving control plane, whatever point
// the runbook reached when it stopped:
//   - the control plane serves under its name: nothing to do (the runbook
//     finished, or never fenced);
//   - the machine under that name is the old one: start it, since no
//     replacement was launched;
//   - a replacement was launched but does not serve (and, if its restore
//     got as far as the API server's manifest, does not within 2 min):
//     re-provision again, from the same backups.
//
// So a runbook cut short by a SIGKILL is finished by 'kdrill recover'.
type ControlPlaneFence struct {
	// R is the re-provisioning the runbook is about to do; only Plan reads
	// it.
	R Reprovision
}

// fenceWait is how long the fence's revert gives a replacement that got as
// far as its API server's manifest, or a restarted old machine, to serve.
const fenceWait = 2 * time.Minute

// Name implements Fault.
func (f *ControlPlaneFence) Name() string { return "control-plane-fence" }

// Plan implements Fault.
func (f *ControlPlaneFence) Plan(ctx context.Context, t harness.Target) (Params, error) {
	if _, ok := t.(Machines); !ok {
		return nil, fmt.Errorf("this target cannot stop machines")
	}
	r := f.R
	switch {
	case r.Old.Name == "":
		return nil, fmt.Errorf("no control plane to fence")
	case r.Zone == "":
		return nil, fmt.Errorf("no zone to re-provision %s in", r.Old.Name)
	case r.Backup == "" || r.Snapshot == "":
		return nil, fmt.Errorf("no backup to re-provision %s from", r.Old.Name)
	}
	id, err := t.(Machines).MachineID(ctx, r.Old.Name)
	if err != nil {
		return nil, err
	}
	return Params{
		"node": r.Old.Name, "machine": id, "address": r.Old.Address, "address6": r.Old.Address6, "zone": r.Old.Zone,
		"to_zone": r.Zone, "backup": r.Backup, "snapshot": r.Snapshot,
	}, nil
}

// Apply implements Fault.
func (f *ControlPlaneFence) Apply(ctx context.Context, t harness.Target, p Params) error {
	if err := t.(Machines).StopNode(ctx, p["node"], true); err != nil {
		return fmt.Errorf("fence %s: %w", p["node"], err)
	}
	return nil
}

// Revert implements Fault.
func (f *ControlPlaneFence) Revert(ctx context.Context, t harness.Target, p Params) error {
	node := p["node"]
	m, ok := t.(Machines)
	if !ok {
		return fmt.Errorf("this target cannot start machines")
	}
	id, err := m.MachineID(ctx, node)
	if err != nil {
		return fmt.Errorf("find the machine named %s (re-provision it by hand from %s and %s if there is none): %w", node, p["backup"], p["snapshot"], err)
	}
	if id == p["machine"] {
		// The old machine: no replacement was launched.
		running, err := m.NodeRunning(ctx, node)
		if err != nil {
			return err
		}
		if !running {
			if err := m.StartNode(ctx, node); err != nil {
				return fmt.Errorf("unfence %s: %w", node, err)
			}
		}
		if err := waitServing(ctx, t, node, fenceWait); err != nil {
			return fmt.Errorf("the old control plane %s: %w", node, err)
		}
		return nil
	}
	// A replacement whose restore got as far as the API server's manifest
	// may be starting: give it time. One without it never will.
	if _, err := t.Exec(ctx, node, "test", "-e", apiServerManifest); err == nil && waitServing(ctx, t, node, fenceWait) == nil {
		return nil
	}
	// Fence the unfinished replacement too: it is relaunched.
	if running, err := m.NodeRunning(ctx, node); err != nil || running {
		if err := m.StopNode(ctx, node, true); err != nil {
			return fmt.Errorf("fence the unfinished replacement %s: %w", node, err)
		}
	}
	r := Reprovision{
		Old:    harness.Node{Name: node, Role: harness.RoleControlPlane, Zone: p["zone"], Address: p["address"], Address6: p["address6"]},
		Zone:   p["to_zone"],
		Backup: p["backup"], Snapshot: p["snapshot"],
	}
	if _, err := ReprovisionControlPlane(ctx, t, r); err != nil {
		return fmt.Errorf("finish re-provisioning %s: %w", node, err)
	}
	if err := waitServing(ctx, t, node, fenceWait); err != nil {
		return fmt.Errorf("the re-provisioned control plane %s: %w", node, err)
	}
	return nil
}

// apiServerManifest is the last file a restore puts in place.
const apiServerManifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"

// waitServing waits until the API server on node reports itself ready, as
// asked on the node, or until limit.
func waitServing(ctx context.Context, t harness.Target, node string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		out, err := t.Exec(cctx, node, "curl", "-sfk", "--max-time", "5", "https://127.0.0.1:6443/readyz")
		cancel()
		if err == nil && strings.TrimSpace(string(out)) == "ok" {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("readyz said %q", strings.TrimSpace(string(out)))
			}
			return fmt.Errorf("its API server is not ready after %s: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
