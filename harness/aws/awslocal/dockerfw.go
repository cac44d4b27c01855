package awslocal

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// How DockerBackend enforces a network ACL inside a container (which needs
// sh, iptables and, on an IPv6 network, ip6tables, and the NET_ADMIN
// capability that kind's privileged nodes have):
//
//   - two chains in the filter table, AWSLOCAL-NACL-IN for ingress entries
//     (matched on the source address) and AWSLOCAL-NACL-OUT for egress
//     entries (matched on the destination);
//   - four jump rules, each tagged with the comment "awslocal-nacl":
//     INPUT and FORWARD jump to AWSLOCAL-NACL-IN, OUTPUT and FORWARD to
//     AWSLOCAL-NACL-OUT, inserted first in their chain; FORWARD carries the
//     traffic of the node's pods;
//   - in each chain, in order: RETURN for loopback and for every address
//     of the subnet's own instances (ACLs filter only what crosses the
//     subnet's edge); then one rule per entry and peer, lowest rule number
//     first, RETURN for allow and DROP for deny (so the first matching
//     entry decides, as on AWS), each commented
//     "awslocal-nacl <acl id> rule <number>"; the last is the catch-all
//     deny. Traffic an entry allows goes on through the rest of the
//     node's own rules (kube-proxy's, the CNI's) untouched.
//
// The chains are rewritten whole with iptables-restore --noflush, so a
// change never leaves the container half filtered; removal deletes exactly
// the four jumps (by their full specification) and the two chains. Rules
// are stateless, as ACLs are: denying ingress from a peer also drops its
// replies to connections the instance opened.
const (
	naclChainIn  = "AWSLOCAL-NACL-IN"
	naclChainOut = "AWSLOCAL-NACL-OUT"
	naclComment  = "awslocal-nacl"
)

// naclJumps are the rules that send traffic through the chains.
var naclJumps = [][2]string{{"INPUT", naclChainIn}, {"FORWARD", naclChainIn}, {"OUTPUT", naclChainOut}, {"FORWARD", naclChainOut}}

// errBooting is ApplyNetworkACL's answer for a machine still booting: the
// server tries again next round.
var errBooting = errors.New("still booting")

// ApplyNetworkACL implements Firewall with iptables inside the container.
// A container that is not running keeps no rules; the server applies them
// again when it boots, and once its entrypoint has handed over to init.
func (b *DockerBackend) ApplyNetworkACL(ctx context.Context, id string, rules ACLRules) error {
	c, err := b.find(ctx, id)
	if err != nil {
		return err
	}
	if !c.State.Running || c.State.Paused {
		return nil
	}
	// Until a kind node's entrypoint has handed over to init, it chooses
	// its iptables back end by counting rules and adds its own: rules put
	// in then would race it, and could tip its choice.
	if !rules.Empty() {
		out, err := b.docker(ctx, nil, "exec", c.ID, "cat", "/proc/1/comm")
		if err != nil {
			return fmt.Errorf("network ACL rules in %s: %w", c.name(), err)
		}
		if strings.TrimSpace(string(out)) == "entrypoint" {
			return errBooting
		}
	}
	if _, err := b.docker(ctx, nil, "exec", c.ID, "sh", "-c", naclScript(rules)); err != nil {
		return fmt.Errorf("network ACL rules in %s: %w", c.name(), err)
	}
	return nil
}

// naclScript is the shell script that makes a container enforce rules
// (or, for empty rules, removes all enforcement).
func naclScript(rules ACLRules) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, fam := range []struct {
		tool string
		v6   bool
	}{{"iptables", false}, {"ip6tables", true}} {
		if rules.Empty() || !usesFamily(rules, fam.v6) {
			// Nothing to enforce for this family: remove what may be left.
			fmt.Fprintf(&b, "if command -v %s >/dev/null 2>&1; then\n%sfi\n", fam.tool, naclRemove(fam.tool))
			continue
		}
		fmt.Fprintf(&b, "%s-restore -w --noflush <<'AWSLOCAL_NACL_EOF'\n%sAWSLOCAL_NACL_EOF\n", fam.tool, naclRestore(rules, fam.v6))
		for _, j := range naclJumps {
			spec := fmt.Sprintf("%s -m comment --comment %s -j %s", j[0], naclComment, j[1])
			fmt.Fprintf(&b, "%[1]s -w -C %[2]s 2>/dev/null || %[1]s -w -I %[3]s 1 -m comment --comment %[4]s -j %[5]s\n",
				fam.tool, spec, j[0], naclComment, j[1])
		}
	}
	return b.String()
}

// naclRemove deletes the jumps while they exist, then the chains.
func naclRemove(tool string) string {
	var b strings.Builder
	for _, j := range naclJumps {
		spec := fmt.Sprintf("%s -m comment --comment %s -j %s", j[0], naclComment, j[1])
		fmt.Fprintf(&b, "  while %[1]s -w -C %[2]s 2>/dev/null; do %[1]s -w -D %[2]s; done\n", tool, spec)
	}
	for _, ch := range []string{naclChainIn, naclChainOut} {
		fmt.Fprintf(&b, "  %[1]s -w -F %[2]s 2>/dev/null || true\n  %[1]s -w -X %[2]s 2>/dev/null || true\n", tool, ch)
	}
	return b.String()
}

// usesFamily reports whether any address in the rules is IPv6 (v6) or
// IPv4.
func usesFamily(rules ACLRules, v6 bool) bool {
	all := append([]string(nil), rules.Local...)
	for _, r := range append(append([]ACLRule(nil), rules.Ingress...), rules.Egress...) {
		all = append(all, r.Peers...)
	}
	for _, a := range all {
		if p, err := netip.ParsePrefix(a); err == nil && p.Addr().Is6() == v6 {
			return true
		}
	}
	return false
}

// naclRestore is the iptables-restore input that rewrites both chains for
// one address family.
func naclRestore(rules ACLRules, v6 bool) string {
	var b strings.Builder
	b.WriteString("*filter\n")
	for _, ch := range []string{naclChainIn, naclChainOut} {
		fmt.Fprintf(&b, ":%s - [0:0]\n-F %s\n", ch, ch)
	}
	local := fmt.Sprintf(`-m comment --comment "%s %s local" -j RETURN`, naclComment, rules.ACLID)
	fmt.Fprintf(&b, "-A %s -i lo %s\n-A %s -o lo %s\n", naclChainIn, local, naclChainOut, local)
	for _, a := range familyOf(rules.Local, v6) {
		fmt.Fprintf(&b, "-A %s -s %s %s\n-A %s -d %s %s\n", naclChainIn, a, local, naclChainOut, a, local)
	}
	for _, dir := range []struct {
		chain, match string
		rules        []ACLRule
	}{{naclChainIn, "-s", rules.Ingress}, {naclChainOut, "-d", rules.Egress}} {
		for _, r := range dir.rules {
			proto, ok := protocolMatch(r, v6)
			if !ok {
				continue
			}
			target, action := "DROP", "deny"
			if r.Allow {
				target, action = "RETURN", "allow"
			}
			for _, p := range familyOf(r.Peers, v6) {
				fmt.Fprintf(&b, "-A %s %s %s%s -m comment --comment \"%s %s rule %d %s\" -j %s\n",
					dir.chain, dir.match, p, proto, naclComment, rules.ACLID, r.Number, action, target)
			}
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

func familyOf(prefixes []string, v6 bool) []string {
	var out []string
	for _, a := range prefixes {
		if p, err := netip.ParsePrefix(a); err == nil && p.Addr().Is6() == v6 {
			out = append(out, p.String())
		}
	}
	return out
}

// protocolMatch is the iptables match for an entry's protocol and ports;
// ok is false when the protocol does not exist in the family (ICMP in
// IPv6, ICMPv6 in IPv4).
func protocolMatch(r ACLRule, v6 bool) (match string, ok bool) {
	ports := func(name string) string {
		if (r.FromPort == 0 && r.ToPort == 0) || (r.FromPort == 0 && r.ToPort == 65535) {
			return " -p " + name
		}
		if r.FromPort == r.ToPort {
			return fmt.Sprintf(" -p %s --dport %d", name, r.FromPort)
		}
		return fmt.Sprintf(" -p %s --dport %d:%d", name, r.FromPort, r.ToPort)
	}
	icmp := func(name, opt string) string {
		m := " -p " + name
		if r.ICMPType >= 0 {
			m += fmt.Sprintf(" %s %d", opt, r.ICMPType)
			if r.ICMPCode >= 0 {
				m += "/" + strconv.Itoa(int(r.ICMPCode))
			}
		}
		return m
	}
	switch r.Protocol {
	case "-1":
		return "", true
	case "6":
		return ports("tcp"), true
	case "17":
		return ports("udp"), true
	case "1":
		return icmp("icmp", "--icmp-type"), !v6
	case "58":
		return icmp("ipv6-icmp", "--icmpv6-type"), v6
	}
	return " -p " + r.Protocol, true
}
