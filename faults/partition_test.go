package faults

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kdrill/kdrill/harness"
)

// staticNodes is a target that only lists nodes: Plan needs nothing else.
type staticNodes []harness.Node

func (s staticNodes) RESTConfig() (*rest.Config, error)             { return nil, nil }
func (s staticNodes) KubeconfigPath() string                        { return "" }
func (s staticNodes) Nodes(context.Context) ([]harness.Node, error) { return s, nil }
func (s staticNodes) Exec(context.Context, string, ...string) ([]byte, error) {
	return nil, nil
}
func (s staticNodes) WorkloadURL() string { return "" }

func TestPartitionPlan(t *testing.T) {
	nodes := staticNodes{
		{Name: "cp", Role: harness.RoleControlPlane, Address: "10.0.0.1", Address6: "fd00::1"},
		{Name: "w1", Role: harness.RoleWorker, Address: "10.0.0.2"},
		{Name: "w2", Role: harness.RoleWorker, Address: "10.0.0.3"},
	}
	p := &Partition{PodCIDRs: map[string]string{"cp": "10.244.0.0/24", "w1": "10.244.1.0/24"}}
	params, err := p.Plan(context.Background(), nodes)
	if err != nil {
		t.Fatal(err)
	}
	names, rules := rulesByNode(params)
	if strings.Join(names, ",") != "cp,w1,w2" {
		t.Fatalf("nodes with rules: %v", names)
	}
	// The control plane drops both workers and w1's pods; each worker
	// drops the control plane and its pods; workers keep talking.
	want := map[string][]string{
		"cp": {"10.0.0.2", "10.244.1.0/24", "10.0.0.3"},
		"w1": {"10.0.0.1", "fd00::1", "10.244.0.0/24"},
		"w2": {"10.0.0.1", "fd00::1", "10.244.0.0/24"},
	}
	for node, addrs := range want {
		if got := len(rules[node]); got != 4*len(addrs) {
			t.Errorf("%s: %d rules, want %d (INPUT, OUTPUT, FORWARD in and out per address)", node, got, 4*len(addrs))
		}
		for _, a := range addrs {
			for _, r := range []string{ruleSpec("INPUT", "-s", a), ruleSpec("OUTPUT", "-d", a), ruleSpec("FORWARD", "-s", a), ruleSpec("FORWARD", "-d", a)} {
				if !contains(rules[node], r) {
					t.Errorf("%s lacks %q", node, r)
				}
			}
		}
		for _, r := range rules[node] {
			if !strings.Contains(r, "--comment "+partitionComment) || !strings.HasSuffix(r, "-j DROP") {
				t.Errorf("%s: rule %q is not a tagged DROP", node, r)
			}
		}
	}
	if !contains(rules["w1"], "ip6tables INPUT -s fd00::1 -m comment --comment "+partitionComment+" -j DROP") {
		t.Errorf("w1 lacks the IPv6 rule: %q", rules["w1"])
	}
	for _, r := range rules["w1"] {
		if strings.Contains(r, "10.0.0.3") {
			t.Errorf("w1 must keep reaching w2: %q", r)
		}
	}

	if _, err := p.Plan(context.Background(), nodes[:1]); err == nil {
		t.Error("a cluster without workers: want an error")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
