package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

const (
	// masqChain holds the agent's masquerade rules, so that they can be
	// replaced as a whole without touching anybody else's.
	masqChain = "KDRILL-MASQ"
	// masqComment has no spaces so that `iptables -S` prints it unquoted and
	// the rule reads back exactly as written.
	masqComment = "kdrill-cni"
)

// iptablesMode is the iptables backend: the nf_tables kernel API or the
// legacy x_tables one.
type iptablesMode string

// The two iptables backends.
const (
	modeNFT    iptablesMode = "nft"
	modeLegacy iptablesMode = "legacy"
)

// chooseIPTablesMode picks the backend the node already uses, the way kind's
// node entrypoint and kube-proxy do: rules written through one backend are
// invisible to the other, so the agent's masquerade rule must land next to
// kube-proxy's. nft wins ties, including a node with no rules at all,
// because that is what Debian bookworm and this project's nodes default to.
func chooseIPTablesMode(legacyRules, nftRules int) iptablesMode {
	if legacyRules > nftRules {
		return modeLegacy
	}
	return modeNFT
}

// countRules counts the rules in iptables-save output.
func countRules(save []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(save))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "-A ") {
			n++
		}
	}
	return n
}

// iptablesTools names the binaries of one backend.
type iptablesTools struct {
	Mode     iptablesMode
	IPTables string
	Restore  string
}

// toolsFor returns the binaries for mode, falling back to the unsuffixed
// names (whatever the alternatives system points at) where the suffixed
// ones are not installed.
func toolsFor(mode iptablesMode, lookPath func(string) (string, error)) iptablesTools {
	pick := func(name string) string {
		suffixed := strings.Replace(name, "iptables", "iptables-"+string(mode), 1)
		if _, err := lookPath(suffixed); err == nil {
			return suffixed
		}
		return name
	}
	return iptablesTools{Mode: mode, IPTables: pick("iptables"), Restore: pick("iptables-restore")}
}

// parsePodSubnets parses the cluster pod CIDR as kind templates it (one
// CIDR, or a comma-separated pair on dual-stack clusters) and returns its
// IPv4 prefixes in canonical form.
func parsePodSubnets(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("parse pod subnet %q: %w", f, err)
		}
		if p.Addr().Is4() {
			out = append(out, p.Masked().String())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pod subnet %q has no IPv4 CIDR", s)
	}
	return slices.Compact(out), nil
}

// masqChainRules returns the rules of masqChain as `iptables -S` prints
// them. Traffic that stays inside the pod CIDR keeps its source address;
// everything else a pod sends out of the node (to Docker's DNS, the
// internet, other nodes' host addresses) is masqueraded, because nothing
// outside the cluster has a route back to pod addresses. Service traffic is
// already DNATed to a pod address by the time it reaches POSTROUTING.
func masqChainRules(subnets []string) []string {
	var rules []string
	for _, s := range subnets {
		rules = append(rules, fmt.Sprintf("-A %s -d %s -j RETURN", masqChain, s))
	}
	for _, s := range subnets {
		rules = append(rules, fmt.Sprintf("-A %s -s %s -j MASQUERADE", masqChain, s))
	}
	return rules
}

// masqRestoreInput is iptables-restore input that creates masqChain, or
// empties it if it exists, and fills it in a single transaction, so there is
// never a moment without the rules.
func masqRestoreInput(subnets []string) []byte {
	var b bytes.Buffer
	b.WriteString("*nat\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", masqChain)
	for _, r := range masqChainRules(subnets) {
		b.WriteString(r)
		b.WriteByte('\n')
	}
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// masqJumpRule is the POSTROUTING rule that sends traffic to masqChain,
// without the -A/-C/-D verb.
func masqJumpRule() []string {
	return []string{"POSTROUTING", "-m", "comment", "--comment", masqComment, "-j", masqChain}
}

// chainMatches reports whether `iptables -S <chain>` output holds exactly
// the rules in want, in order.
func chainMatches(listing []byte, want []string) bool {
	var got []string
	sc := bufio.NewScanner(bytes.NewReader(listing))
	for sc.Scan() {
		line := strings.Join(strings.Fields(sc.Text()), " ")
		if strings.HasPrefix(line, "-A ") {
			got = append(got, line)
		}
	}
	return slices.Equal(got, want)
}
