package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
)

// NACLPartition cuts the control plane's subnet off from the workers'
// subnets with network ACL deny entries, in both directions: the control
// plane subnet's ACL denies traffic from and to each worker subnet's CIDRs,
// and each worker subnet's ACL denies traffic from and to the control
// plane subnet's CIDRs. Network ACLs are stateless, so both directions need
// their own entry. The machine running kdrill, outside those subnets, keeps
// reaching both sides.
//
// The entries take free rule numbers below the ACL's first allow entry, so
// they are evaluated before it; Params records each one, and Revert deletes
// exactly those that are still the entries Apply made.
//
// Plan refuses topologies an ACL cannot partition: a worker in the control
// plane's subnet (ACLs do not filter inside a subnet) and a control-plane
// subnet sharing its ACL with a worker subnet (the deny entries would then
// cut the workers off from each other too).
type NACLPartition struct{}

// Name implements faults.Fault. It differs from the iptables partition's
// name because its params mean something else; both drill the
// network-partition scenario.
func (NACLPartition) Name() string { return "network-partition-nacl" }

var _ faults.Fault = NACLPartition{}

// naclEntry is one deny entry of the plan.
type naclEntry struct {
	ACL    string
	Egress bool
	Rule   int32
	CIDR   string
}

func (e naclEntry) String() string {
	dir := "ingress"
	if e.Egress {
		dir = "egress"
	}
	return fmt.Sprintf("%s %s %d %s", e.ACL, dir, e.Rule, e.CIDR)
}

func parseEntry(s string) (naclEntry, error) {
	f := strings.Fields(s)
	if len(f) != 4 || (f[1] != "ingress" && f[1] != "egress") {
		return naclEntry{}, fmt.Errorf("malformed ACL entry %q: want \"<acl> ingress|egress <rule> <cidr>\"", s)
	}
	n, err := strconv.ParseInt(f[2], 10, 32)
	if err != nil || n < 1 || n > 32766 {
		return naclEntry{}, fmt.Errorf("malformed ACL entry %q: bad rule number", s)
	}
	return naclEntry{ACL: f[0], Egress: f[1] == "egress", Rule: int32(n), CIDR: f[3]}, nil
}

// naclEntries reads the plan back from params.
func naclEntries(p faults.Params) ([]naclEntry, error) {
	var out []naclEntry
	for line := range strings.SplitSeq(p["entries"], "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func providerOf(t harness.Target) (*Provider, error) {
	p, ok := t.(*Provider)
	if !ok {
		return nil, fmt.Errorf("network-partition-nacl needs an AWS target, not %T", t)
	}
	return p, nil
}

// Plan implements faults.Fault: it reads the subnets and their ACLs and
// picks the rule numbers, changing nothing.
func (NACLPartition) Plan(ctx context.Context, t harness.Target) (faults.Params, error) {
	p, err := providerOf(t)
	if err != nil {
		return nil, err
	}
	cp, workers, err := p.cluster(ctx)
	if err != nil {
		return nil, err
	}
	if len(workers) == 0 {
		return nil, fmt.Errorf("a partition needs at least one worker; none is tagged %s", p.o.selector())
	}
	if cp.SubnetID == "" {
		return nil, fmt.Errorf("control-plane instance %s is in no subnet", cp.ID)
	}
	var workerSubnets []string
	for _, w := range workers {
		if w.SubnetID == cp.SubnetID {
			return nil, fmt.Errorf("worker %s (%s) is in the control plane's subnet %s: network ACLs do not filter traffic inside a subnet", w.Node, w.ID, cp.SubnetID)
		}
		if w.SubnetID != "" && !slices.Contains(workerSubnets, w.SubnetID) {
			workerSubnets = append(workerSubnets, w.SubnetID)
		}
	}
	sort.Strings(workerSubnets)
	all := append([]string{cp.SubnetID}, workerSubnets...)

	cidrs, err := p.subnetCIDRs(ctx, all)
	if err != nil {
		return nil, err
	}
	acls, bySubnet, err := p.subnetACLs(ctx, all)
	if err != nil {
		return nil, err
	}
	cpACL := bySubnet[cp.SubnetID]
	for _, s := range workerSubnets {
		if bySubnet[s] == cpACL {
			return nil, fmt.Errorf("the control plane's subnet %s and worker subnet %s share network ACL %s: its deny entries would cut the workers off from each other too; give the control plane's subnet its own ACL", cp.SubnetID, s, cpACL)
		}
	}

	// Which CIDRs each ACL must deny, both ways.
	deny := map[string][]string{}
	for _, s := range workerSubnets {
		deny[cpACL] = append(deny[cpACL], cidrs[s]...)
		acl := bySubnet[s]
		for _, c := range cidrs[cp.SubnetID] {
			if !slices.Contains(deny[acl], c) {
				deny[acl] = append(deny[acl], c)
			}
		}
	}
	ids := make([]string, 0, len(deny))
	for id := range deny {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var lines []string
	for _, id := range ids {
		for _, egress := range []bool{false, true} {
			rules, err := freeRules(acls[id], egress, len(deny[id]))
			if err != nil {
				return nil, err
			}
			for i, c := range deny[id] {
				lines = append(lines, naclEntry{ACL: id, Egress: egress, Rule: rules[i], CIDR: c}.String())
			}
		}
	}
	return faults.Params{
		"control-plane-subnet": cp.SubnetID,
		"worker-subnets":       strings.Join(workerSubnets, ","),
		"entries":              strings.Join(lines, "\n"),
	}, nil
}

// freeRules picks n unused rule numbers of one direction, lowest first, all
// below the ACL's first allow entry of that direction: entries are
// evaluated in rule-number order and the first match decides.
func freeRules(acl ec2types.NetworkAcl, egress bool, n int) ([]int32, error) {
	used := map[int32]bool{}
	firstAllow := int32(32767)
	for _, e := range acl.Entries {
		if awssdk.ToBool(e.Egress) != egress {
			continue
		}
		r := awssdk.ToInt32(e.RuleNumber)
		used[r] = true
		if e.RuleAction == ec2types.RuleActionAllow && r < firstAllow {
			firstAllow = r
		}
	}
	var out []int32
	for r := int32(1); r < firstAllow && len(out) < n; r++ {
		if !used[r] {
			out = append(out, r)
		}
	}
	if len(out) < n {
		dir := "ingress"
		if egress {
			dir = "egress"
		}
		return nil, fmt.Errorf("network ACL %s allows %s traffic from rule %d on and has only %d free rule numbers below it; kdrill needs %d for its deny entries",
			awssdk.ToString(acl.NetworkAclId), dir, firstAllow, len(out), n)
	}
	return out, nil
}

// subnetCIDRs returns each subnet's IPv4 CIDR and associated IPv6 CIDRs.
func (p *Provider) subnetCIDRs(ctx context.Context, ids []string) (map[string][]string, error) {
	out, err := p.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids})
	if err != nil {
		return nil, p.classify(fmt.Errorf("describe subnets %s: %w", strings.Join(ids, ", "), err))
	}
	cidrs := map[string][]string{}
	for _, s := range out.Subnets {
		id := awssdk.ToString(s.SubnetId)
		if c := awssdk.ToString(s.CidrBlock); c != "" {
			cidrs[id] = append(cidrs[id], c)
		}
		for _, a := range s.Ipv6CidrBlockAssociationSet {
			if a.Ipv6CidrBlockState != nil && a.Ipv6CidrBlockState.State == ec2types.SubnetCidrBlockStateCodeAssociated {
				cidrs[id] = append(cidrs[id], awssdk.ToString(a.Ipv6CidrBlock))
			}
		}
	}
	for _, id := range ids {
		if len(cidrs[id]) == 0 {
			return nil, fmt.Errorf("subnet %s: EC2 reported no CIDR for it", id)
		}
	}
	return cidrs, nil
}

// subnetACLs returns the network ACLs associated with the subnets, by ACL
// id and by subnet id.
func (p *Provider) subnetACLs(ctx context.Context, subnets []string) (map[string]ec2types.NetworkAcl, map[string]string, error) {
	acls := map[string]ec2types.NetworkAcl{}
	bySubnet := map[string]string{}
	pages := ec2.NewDescribeNetworkAclsPaginator(p.ec2, &ec2.DescribeNetworkAclsInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("association.subnet-id"), Values: subnets}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, p.classify(fmt.Errorf("describe the network ACLs of subnets %s: %w", strings.Join(subnets, ", "), err))
		}
		for _, acl := range page.NetworkAcls {
			id := awssdk.ToString(acl.NetworkAclId)
			acls[id] = acl
			for _, a := range acl.Associations {
				bySubnet[awssdk.ToString(a.SubnetId)] = id
			}
		}
	}
	for _, s := range subnets {
		if bySubnet[s] == "" {
			return nil, nil, fmt.Errorf("subnet %s: EC2 reported no network ACL for it", s)
		}
	}
	return acls, bySubnet, nil
}

// Apply implements faults.Fault: one CreateNetworkAclEntry per planned
// entry, in plan order.
func (NACLPartition) Apply(ctx context.Context, t harness.Target, params faults.Params) error {
	p, err := providerOf(t)
	if err != nil {
		return err
	}
	entries, err := naclEntries(params)
	if err != nil {
		return err
	}
	for _, e := range entries {
		in := &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: awssdk.String(e.ACL),
			RuleNumber:   awssdk.Int32(e.Rule),
			Egress:       awssdk.Bool(e.Egress),
			Protocol:     awssdk.String("-1"),
			RuleAction:   ec2types.RuleActionDeny,
		}
		if strings.Contains(e.CIDR, ":") {
			in.Ipv6CidrBlock = awssdk.String(e.CIDR)
		} else {
			in.CidrBlock = awssdk.String(e.CIDR)
		}
		if _, err := p.ec2.CreateNetworkAclEntry(ctx, in); err != nil {
			return p.classify(fmt.Errorf("add deny entry %s: %w", e, err))
		}
	}
	return nil
}

// Revert implements faults.Fault: it deletes every planned entry that is
// still there and still kdrill's (deny, all protocols, the planned CIDR).
// Entries already gone, and ACLs already gone, are fine; a rule number now
// holding someone else's entry is left alone.
func (NACLPartition) Revert(ctx context.Context, t harness.Target, params faults.Params) error {
	p, err := providerOf(t)
	if err != nil {
		return err
	}
	entries, err := naclEntries(params)
	if err != nil {
		return err
	}
	byACL := map[string][]naclEntry{}
	var ids []string
	for _, e := range entries {
		if _, seen := byACL[e.ACL]; !seen {
			ids = append(ids, e.ACL)
		}
		byACL[e.ACL] = append(byACL[e.ACL], e)
	}
	var failed []string
	for _, id := range ids {
		out, err := p.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{id}})
		if apiCode(err) == "InvalidNetworkAclID.NotFound" {
			continue
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("describe %s: %v", id, p.classify(err)))
			continue
		}
		if len(out.NetworkAcls) == 0 {
			continue
		}
		current := out.NetworkAcls[0].Entries
		for _, e := range byACL[id] {
			i := slices.IndexFunc(current, func(c ec2types.NetworkAclEntry) bool {
				return awssdk.ToInt32(c.RuleNumber) == e.Rule && awssdk.ToBool(c.Egress) == e.Egress
			})
			if i < 0 {
				continue
			}
			if c := current[i]; c.RuleAction != ec2types.RuleActionDeny || awssdk.ToString(c.Protocol) != "-1" ||
				(awssdk.ToString(c.CidrBlock) != e.CIDR && awssdk.ToString(c.Ipv6CidrBlock) != e.CIDR) {
				slog.Warn("network ACL rule number reused by another entry; leaving it", "entry", e.String())
				continue
			}
			_, err := p.ec2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{
				NetworkAclId: awssdk.String(e.ACL),
				RuleNumber:   awssdk.Int32(e.Rule),
				Egress:       awssdk.Bool(e.Egress),
			})
			if err != nil && apiCode(err) != "InvalidNetworkAclEntry.NotFound" {
				failed = append(failed, fmt.Sprintf("delete %s: %v", e, p.classify(err)))
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("remove partition ACL entries: %s", strings.Join(failed, "; "))
	}
	return nil
}

// apiCode is the AWS error code in err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
