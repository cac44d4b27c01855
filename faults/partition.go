package faults

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kdrill/kdrill/harness"
)

// Partition cuts the control-plane node off from the workers in both
// directions: DROP rules on every node for the other side's node address and
// pod range, each tagged with the fault's comment. The machine running kdrill
// keeps reaching the workers (and so the workload) because only traffic
// between cluster nodes is dropped. Revert deletes exactly the rules Apply
// added, by their full specification.
type Partition struct {
	// PodCIDRs maps node names to their pod ranges; pod-to-pod traffic
	// across the cut must stop too. Empty entries are skipped.
	PodCIDRs map[string]string
}

// Name implements Fault.
func (p *Partition) Name() string { return "network-partition" }

// partitionComment marks every rule the fault adds.
const partitionComment = "kdrill-network-partition"

// Plan implements Fault: the rules, per node, as iptables argument lists.
func (p *Partition) Plan(ctx context.Context, t harness.Target) (Params, error) {
	nodes, err := t.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	cps := harness.ByRole(nodes, harness.RoleControlPlane)
	workers := harness.ByRole(nodes, harness.RoleWorker)
	if len(cps) != 1 || len(workers) == 0 {
		return nil, fmt.Errorf("a partition needs one control-plane node and at least one worker; found %d and %d", len(cps), len(workers))
	}
	// Every address of the other side: a dual-stack node network would
	// otherwise carry the kubelet's traffic over IPv6 past IPv4 rules.
	side := func(ns []harness.Node) []string {
		var addrs []string
		for _, n := range ns {
			for _, a := range []string{n.Address, n.Address6, p.PodCIDRs[n.Name]} {
				if a != "" {
					addrs = append(addrs, a)
				}
			}
		}
		return addrs
	}
	params := Params{}
	add := func(node harness.Node, others []string) {
		var rules []string
		for _, o := range others {
			rules = append(rules,
				ruleSpec("INPUT", "-s", o),
				ruleSpec("OUTPUT", "-d", o),
				ruleSpec("FORWARD", "-s", o),
				ruleSpec("FORWARD", "-d", o))
		}
		params["rules/"+node.Name] = strings.Join(rules, "\n")
	}
	add(cps[0], side(workers))
	for _, w := range workers {
		add(w, side(cps))
	}
	return params, nil
}

// ruleSpec is one DROP rule: the tool (iptables or ip6tables, by the
// address's family), then the chain and match as iptables takes them.
func ruleSpec(chain, dir, addr string) string {
	tool := "iptables"
	if strings.Contains(addr, ":") {
		tool = "ip6tables"
	}
	return strings.Join([]string{tool, chain, dir, addr, "-m", "comment", "--comment", partitionComment, "-j", "DROP"}, " ")
}

// rulesByNode turns the plan back into per-node rule lists, in a stable order.
func rulesByNode(p Params) (nodes []string, rules map[string][]string) {
	rules = map[string][]string{}
	for k, v := range p {
		node, ok := strings.CutPrefix(k, "rules/")
		if !ok || v == "" {
			continue
		}
		nodes = append(nodes, node)
		rules[node] = strings.Split(v, "\n")
	}
	sort.Strings(nodes)
	return nodes, rules
}

// Apply implements Fault: insert each rule at the top of its chain.
func (p *Partition) Apply(ctx context.Context, t harness.Target, params Params) error {
	nodes, rules := rulesByNode(params)
	for _, n := range nodes {
		var script strings.Builder
		script.WriteString("set -e\n")
		for _, r := range rules[n] {
			f := strings.SplitN(r, " ", 3) // tool, chain, match
			fmt.Fprintf(&script, "%s -w -I %s 1 %s\n", f[0], f[1], f[2])
		}
		if _, err := sh(ctx, t, n, script.String()); err != nil {
			return fmt.Errorf("partition %s: %w", n, err)
		}
	}
	return nil
}

// Revert implements Fault: delete every planned rule while it exists. Rules
// already gone (a node restarted, a second revert) are fine, and so is a
// node that is gone or stopped: its rules went with its network.
func (p *Partition) Revert(ctx context.Context, t harness.Target, params Params) error {
	nodes, rules := rulesByNode(params)
	present, err := t.Nodes(ctx)
	if err != nil {
		return err
	}
	var failed []string
	for _, n := range nodes {
		if !slices.ContainsFunc(present, func(h harness.Node) bool { return h.Name == n }) {
			continue
		}
		// A stopped machine lost its rules with its network namespace.
		if m, ok := t.(Machines); ok {
			if running, err := m.NodeRunning(ctx, n); err == nil && !running {
				continue
			}
		}
		var script strings.Builder
		for _, r := range rules[n] {
			tool, spec, _ := strings.Cut(r, " ")
			fmt.Fprintf(&script, "while %[1]s -w -C %[2]s 2>/dev/null; do %[1]s -w -D %[2]s || exit 1; done\n", tool, spec)
		}
		if _, err := sh(ctx, t, n, script.String()); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", n, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("remove partition rules: %s", strings.Join(failed, "; "))
	}
	return nil
}
