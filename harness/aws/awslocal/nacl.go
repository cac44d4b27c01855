package awslocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// subnet is the one subnet of an availability zone. All subnets share the
// VPC's ranges: the backend's machines sit on one flat network, and giving
// each zone a made-up slice of it would contradict the machines' real
// addresses.
type subnet struct {
	id, zone, vpcID string
	cidr, ipv6CIDR  string
	acl             *networkACL
}

// networkACL is a subnet's own network ACL.
type networkACL struct {
	id, assocID string
	entries     []aclEntry
}

// aclEntry is one network ACL entry as EC2 stores it.
type aclEntry struct {
	number             int32
	egress             bool
	allow              bool
	protocol           string // a protocol number, "-1" for all
	cidr, ipv6CIDR     string // exactly one is set
	fromPort, toPort   int32
	hasPorts           bool
	icmpType, icmpCode int32
	hasICMP            bool
}

// catchAll is the rule number of the deny entries every ACL ends with.
const catchAll = 32767

// subnetLocked returns the zone's subnet, making it (with its ACL) on first
// use. s.mu is held.
func (s *Server) subnetLocked(zone string, net Network) *subnet {
	if zone == "" {
		return nil
	}
	if sn := s.subnets[zone]; sn != nil {
		return sn
	}
	sn := &subnet{
		id:       shortID("subnet", net.CIDR, zone),
		zone:     zone,
		vpcID:    shortID("vpc", net.CIDR),
		cidr:     net.CIDR,
		ipv6CIDR: net.IPv6CIDR,
		acl: &networkACL{
			id:      shortID("acl", net.CIDR, zone),
			assocID: shortID("aclassoc", net.CIDR, zone),
			entries: defaultEntries(net.IPv6CIDR != ""),
		},
	}
	s.subnets[zone] = sn
	return sn
}

// defaultEntries are a new ACL's entries: allow everything both ways, then
// the catch-all deny, for IPv4 and (in a VPC with IPv6) IPv6.
func defaultEntries(ipv6 bool) []aclEntry {
	var es []aclEntry
	for _, egress := range []bool{false, true} {
		es = append(es, aclEntry{number: 100, egress: egress, allow: true, protocol: "-1", cidr: "0.0.0.0/0"})
		if ipv6 {
			es = append(es, aclEntry{number: 101, egress: egress, allow: true, protocol: "-1", ipv6CIDR: "::/0"})
		}
		es = append(es, aclEntry{number: catchAll, egress: egress, protocol: "-1", cidr: "0.0.0.0/0"})
		if ipv6 {
			es = append(es, aclEntry{number: catchAll, egress: egress, protocol: "-1", ipv6CIDR: "::/0"})
		}
	}
	return es
}

// isDefault reports whether the ACL still has exactly its first entries,
// so nothing needs enforcing.
func (a *networkACL) isDefault(ipv6 bool) bool {
	def := defaultEntries(ipv6)
	if len(def) != len(a.entries) {
		return false
	}
	key := func(e aclEntry) string { return fmt.Sprintf("%+v", e) }
	want := map[string]bool{}
	for _, e := range def {
		want[key(e)] = true
	}
	for _, e := range a.entries {
		if !want[key(e)] {
			return false
		}
	}
	return true
}

// aclRulesLocked turns a subnet's ACL into the rules its instances
// enforce; empty when the ACL allows everything. s.mu is held.
//
// An entry's range is matched against the backend's network this way:
//   - a range within the VPC's range matches the instances (outside the
//     subnet) whose address is in it, each with all its addresses of that
//     family and its prefixes, and nothing else: the VPC's range also holds
//     the Docker host's gateway address, and the host stands for the
//     outside world, which such an entry would not cover on AWS;
//   - a wider range (0.0.0.0/0) matches as written, plus the prefixes it
//     does not contain of the instances it covers.
func (s *Server) aclRulesLocked(sn *subnet) ACLRules {
	if sn.acl.isDefault(sn.ipv6CIDR != "") {
		return ACLRules{}
	}
	var local []string
	var others []Instance
	for _, rec := range s.insts {
		if rec.terminated {
			continue
		}
		if rec.last.Zone == sn.zone {
			local = append(local, addresses(rec.last, "")...)
		} else {
			others = append(others, rec.last)
		}
	}
	sort.Strings(local)
	rules := ACLRules{ACLID: sn.acl.id, Local: local}
	entries := append([]aclEntry(nil), sn.acl.entries...)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].number < entries[j].number })
	for _, e := range entries {
		r := ACLRule{Number: e.number, Allow: e.allow, Protocol: e.protocol, ICMPType: -1, ICMPCode: -1}
		if e.hasPorts {
			r.FromPort, r.ToPort = e.fromPort, e.toPort
		}
		if e.hasICMP {
			r.ICMPType, r.ICMPCode = e.icmpType, e.icmpCode
		}
		rng, vpc := e.cidr, sn.cidr
		if rng == "" {
			rng, vpc = e.ipv6CIDR, sn.ipv6CIDR
		}
		r.Peers = expandRange(rng, vpc, others)
		if len(r.Peers) == 0 {
			continue // matches nothing that exists
		}
		if e.egress {
			rules.Egress = append(rules.Egress, r)
		} else {
			rules.Ingress = append(rules.Ingress, r)
		}
	}
	return rules
}

// addresses are an instance's addresses (as single-address prefixes) and
// prefixes; family "4" or "6" keeps only that family, "" keeps both.
func addresses(in Instance, family string) []string {
	var out []string
	add := func(p netip.Prefix) {
		if family == "" || (family == "4") == p.Addr().Is4() {
			out = append(out, p.String())
		}
	}
	for _, a := range []string{in.PrivateIP, in.IPv6} {
		if addr, err := netip.ParseAddr(a); err == nil {
			add(netip.PrefixFrom(addr, addr.BitLen()))
		}
	}
	for _, p := range in.Prefixes {
		if pfx, err := netip.ParsePrefix(p); err == nil {
			add(pfx.Masked())
		}
	}
	return out
}

// expandRange is the set of peers an entry's range matches; see
// aclRulesLocked.
func expandRange(rng, vpc string, others []Instance) []string {
	p, err := netip.ParsePrefix(rng)
	if err != nil {
		return nil
	}
	p = p.Masked()
	family := "4"
	if p.Addr().Is6() {
		family = "6"
	}
	set := map[string]bool{}
	v, err := netip.ParsePrefix(vpc)
	inside := err == nil && v.Bits() <= p.Bits() && v.Contains(p.Addr())
	if !inside {
		set[p.String()] = true
	}
	for _, in := range others {
		primary := in.PrivateIP
		if family == "6" {
			primary = in.IPv6
		}
		a, err := netip.ParseAddr(primary)
		if err != nil || !p.Contains(a) {
			continue
		}
		for _, x := range addresses(in, family) {
			if xp, err := netip.ParsePrefix(x); err == nil && !inside && p.Bits() <= xp.Bits() && p.Contains(xp.Addr()) {
				continue // the range as written covers it already
			}
			set[x] = true
		}
	}
	out := make([]string, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}

// fingerprint identifies rules as applied to one boot of a machine.
func fingerprint(r ACLRules, boot time.Time) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%+v|%d", r, boot.UnixNano())))
	return hex.EncodeToString(h[:])
}

// reconcileFirewall brings every running instance's enforced rules in line
// with its subnet's ACL, applying them again on machines that rebooted
// (their rules lived in the running system). Failures are logged and
// retried by the next round.
func (s *Server) reconcileFirewall(ctx context.Context) {
	fw, ok := s.o.Backend.(Firewall)
	if !ok {
		return
	}
	s.fwMu.Lock()
	defer s.fwMu.Unlock()
	if _, err := s.refresh(ctx); err != nil {
		s.log.Error("firewall: list instances", "err", err)
		return
	}
	type job struct {
		id    string
		rules ACLRules
		fp    string
	}
	var jobs []job
	s.mu.Lock()
	for id, rec := range s.insts {
		if rec.terminated || !rec.last.Running || rec.last.Hung {
			continue // rules go on when it boots: its boot time changes
		}
		sn := s.subnets[rec.last.Zone]
		if sn == nil {
			continue
		}
		rules := s.aclRulesLocked(sn)
		fp := ""
		if !rules.Empty() {
			fp = fingerprint(rules, rec.last.BootTime)
		}
		if fp != rec.fwApplied {
			jobs = append(jobs, job{id, rules, fp})
		}
	}
	s.mu.Unlock()
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].id < jobs[j].id })
	for _, j := range jobs {
		if err := fw.ApplyNetworkACL(ctx, j.id, j.rules); err != nil {
			if !errors.Is(err, errBooting) {
				s.log.Error("firewall: apply network ACL", "instance", j.id, "err", err)
			}
			continue
		}
		s.mu.Lock()
		s.insts[j.id].fwApplied = j.fp
		s.mu.Unlock()
	}
}

// firewallLoop re-applies enforced ACLs while any exist, so a machine that
// rebooted behind EC2's back (a fault, a docker restart) gets them again.
func (s *Server) firewallLoop(ctx context.Context) {
	if _, ok := s.o.Backend.(Firewall); !ok {
		return
	}
	t := time.NewTicker(s.o.FirewallInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.firewallActive() {
			s.reconcileFirewall(ctx)
		}
	}
}

// firewallActive reports whether any ACL is enforced or any rules remain.
func (s *Server) firewallActive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sn := range s.subnets {
		if !sn.acl.isDefault(sn.ipv6CIDR != "") {
			return true
		}
	}
	for _, rec := range s.insts {
		if rec.fwApplied != "" {
			return true
		}
	}
	return false
}

// clearFirewall removes every rule the server applied, for Close.
func (s *Server) clearFirewall(ctx context.Context) error {
	fw, ok := s.o.Backend.(Firewall)
	if !ok {
		return nil
	}
	s.fwMu.Lock()
	defer s.fwMu.Unlock()
	var ids []string
	s.mu.Lock()
	for id, rec := range s.insts {
		if rec.fwApplied != "" {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	sort.Strings(ids)
	var failed []string
	for _, id := range ids {
		if err := fw.ApplyNetworkACL(ctx, id, ACLRules{}); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", id, err))
			continue
		}
		s.mu.Lock()
		s.insts[id].fwApplied = ""
		s.mu.Unlock()
	}
	if len(failed) > 0 {
		return fmt.Errorf("remove network ACL rules: %s", strings.Join(failed, "; "))
	}
	return nil
}
