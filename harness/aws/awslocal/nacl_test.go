package awslocal

import (
	"slices"
	"strings"
	"testing"
)

func TestExpandRange(t *testing.T) {
	others := []Instance{
		{PrivateIP: "172.18.0.4", IPv6: "fc00::4", Prefixes: []string{"10.244.1.0/24"}},
		{PrivateIP: "172.18.0.5", Prefixes: []string{"10.244.2.0/24"}},
	}
	tests := []struct {
		name, rng, vpc string
		want           []string
	}{
		{"the VPC's range: instances only, with their pods", "172.18.0.0/16", "172.18.0.0/16",
			[]string{"10.244.1.0/24", "10.244.2.0/24", "172.18.0.4/32", "172.18.0.5/32"}},
		{"one instance", "172.18.0.5/32", "172.18.0.0/16", []string{"10.244.2.0/24", "172.18.0.5/32"}},
		{"inside the VPC, no instance", "172.18.9.0/24", "172.18.0.0/16", []string{}},
		{"everything: as written", "0.0.0.0/0", "172.18.0.0/16", []string{"0.0.0.0/0"}},
		{"wider than the VPC: as written plus the pods outside it", "172.16.0.0/12", "172.18.0.0/16",
			[]string{"10.244.1.0/24", "10.244.2.0/24", "172.16.0.0/12"}},
		{"outside the VPC", "192.168.0.0/16", "172.18.0.0/16", []string{"192.168.0.0/16"}},
		{"IPv6 in the VPC", "fc00::/64", "fc00::/64", []string{"fc00::4/128"}},
		{"unmasked range", "172.18.0.77/16", "172.18.0.0/16", []string{"10.244.1.0/24", "10.244.2.0/24", "172.18.0.4/32", "172.18.0.5/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expandRange(tt.rng, tt.vpc, others); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNACLScript(t *testing.T) {
	rules := ACLRules{
		ACLID: "acl-1",
		Local: []string{"172.18.0.3/32"},
		Ingress: []ACLRule{
			{Number: 10, Protocol: "6", FromPort: 2379, ToPort: 2380, Peers: []string{"172.18.0.4/32"}},
			{Number: 20, Protocol: "1", ICMPType: 8, ICMPCode: -1, Allow: true, Peers: []string{"0.0.0.0/0"}},
			{Number: catchAll, Protocol: "-1", ICMPType: -1, ICMPCode: -1, Peers: []string{"0.0.0.0/0"}},
		},
		Egress: []ACLRule{{Number: catchAll, Protocol: "-1", ICMPType: -1, ICMPCode: -1, Peers: []string{"0.0.0.0/0"}}},
	}
	script := naclScript(rules)
	for _, want := range []string{
		"iptables-restore -w --noflush <<'AWSLOCAL_NACL_EOF'",
		`-A AWSLOCAL-NACL-IN -s 172.18.0.3/32 -m comment --comment "awslocal-nacl acl-1 local" -j RETURN`,
		`-A AWSLOCAL-NACL-IN -s 172.18.0.4/32 -p tcp --dport 2379:2380 -m comment --comment "awslocal-nacl acl-1 rule 10 deny" -j DROP`,
		`-A AWSLOCAL-NACL-IN -s 0.0.0.0/0 -p icmp --icmp-type 8 -m comment --comment "awslocal-nacl acl-1 rule 20 allow" -j RETURN`,
		`-A AWSLOCAL-NACL-OUT -d 0.0.0.0/0 -m comment --comment "awslocal-nacl acl-1 rule 32767 deny" -j DROP`,
		"iptables -w -C FORWARD -m comment --comment awslocal-nacl -j AWSLOCAL-NACL-OUT 2>/dev/null || iptables -w -I FORWARD 1 -m comment --comment awslocal-nacl -j AWSLOCAL-NACL-OUT",
		// No IPv6 addresses: whatever IPv6 rules are left go.
		"while ip6tables -w -C INPUT -m comment --comment awslocal-nacl -j AWSLOCAL-NACL-IN 2>/dev/null; do ip6tables -w -D INPUT",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("no %q in:\n%s", want, script)
		}
	}
	if strings.Contains(script, "ip6tables-restore") {
		t.Error("IPv6 rules for IPv4-only addresses")
	}
	if empty := naclScript(ACLRules{}); strings.Contains(empty, "restore") || !strings.Contains(empty, "iptables -w -X AWSLOCAL-NACL-OUT") {
		t.Errorf("removal script:\n%s", empty)
	}
}
