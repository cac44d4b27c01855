package faults

import (
	"context"
	"fmt"

	"github.com/kdrill/kdrill/harness"
)

// controlPlane returns the target's control-plane node; drills assume one.
func controlPlane(ctx context.Context, t harness.Target) (harness.Node, error) {
	nodes, err := t.Nodes(ctx)
	if err != nil {
		return harness.Node{}, err
	}
	cps := harness.ByRole(nodes, harness.RoleControlPlane)
	if len(cps) != 1 {
		return harness.Node{}, fmt.Errorf("want exactly one control-plane node, found %d", len(cps))
	}
	return cps[0], nil
}

// sh runs a shell script on a node.
func sh(ctx context.Context, t harness.Target, node, script string) ([]byte, error) {
	return t.Exec(ctx, node, "sh", "-c", script)
}
