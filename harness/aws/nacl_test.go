package aws

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kdrill/kdrill/faults"
)

type aclEntry struct {
	rule   int
	egress bool
	action string
	cidr   string
}

func aclXML(id string, subnets []string, entries []aclEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<item><networkAclId>%s</networkAclId><vpcId>vpc-1</vpcId><default>false</default><associationSet>", id)
	for i, s := range subnets {
		fmt.Fprintf(&b, "<item><networkAclAssociationId>aclassoc-%d</networkAclAssociationId><networkAclId>%s</networkAclId><subnetId>%s</subnetId></item>", i, id, s)
	}
	b.WriteString("</associationSet><entrySet>")
	for _, e := range entries {
		cidr := "<cidrBlock>" + e.cidr + "</cidrBlock>"
		if strings.Contains(e.cidr, ":") {
			cidr = "<ipv6CidrBlock>" + e.cidr + "</ipv6CidrBlock>"
		}
		fmt.Fprintf(&b, "<item><ruleNumber>%d</ruleNumber><protocol>-1</protocol><ruleAction>%s</ruleAction><egress>%t</egress>%s</item>", e.rule, e.action, e.egress, cidr)
	}
	b.WriteString("</entrySet></item>")
	return b.String()
}

var (
	cpACLEntries = []aclEntry{
		{1, false, "deny", "192.0.2.0/24"}, // someone else's, ahead of the allow
		{100, false, "allow", "0.0.0.0/0"},
		{32767, false, "deny", "0.0.0.0/0"},
		{100, true, "allow", "0.0.0.0/0"},
		{32767, true, "deny", "0.0.0.0/0"},
	}
	workerACLEntries = []aclEntry{
		{100, false, "allow", "0.0.0.0/0"},
		{50, true, "allow", "10.0.0.0/8"},
		{100, true, "allow", "0.0.0.0/0"},
	}
)

// naclFake serves the subnets and ACLs of the drill topology.
func naclFake(f *fakeAWS, acls string) {
	f.on("ec2:DescribeSubnets", func(c call) reply {
		return ec2OK("DescribeSubnets", `<subnetSet>`+
			`<item><subnetId>subnet-a</subnetId><cidrBlock>10.0.1.0/24</cidrBlock><availabilityZone>us-east-1a</availabilityZone>`+
			`<ipv6CidrBlockAssociationSet><item><associationId>a1</associationId><ipv6CidrBlock>2600:1f18:1::/64</ipv6CidrBlock><ipv6CidrBlockState><state>associated</state></ipv6CidrBlockState></item></ipv6CidrBlockAssociationSet></item>`+
			`<item><subnetId>subnet-b</subnetId><cidrBlock>10.0.2.0/24</cidrBlock><availabilityZone>us-east-1b</availabilityZone></item>`+
			`</subnetSet>`)
	})
	f.on("ec2:DescribeNetworkAcls", func(c call) reply {
		return ec2OK("DescribeNetworkAcls", "<networkAclSet>"+acls+"</networkAclSet>")
	})
}

func TestNACLPartitionPlan(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	naclFake(f, aclXML("acl-cp", []string{"subnet-a"}, cpACLEntries)+aclXML("acl-w", []string{"subnet-b", "subnet-z"}, workerACLEntries))
	params, err := NACLPartition{}.Plan(testContext(t), p)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"acl-cp ingress 2 10.0.2.0/24",
		"acl-cp egress 1 10.0.2.0/24",
		"acl-w ingress 1 10.0.1.0/24",
		"acl-w ingress 2 2600:1f18:1::/64",
		"acl-w egress 1 10.0.1.0/24",
		"acl-w egress 2 2600:1f18:1::/64",
	}, "\n")
	if params["entries"] != want {
		t.Errorf("entries =\n%s\nwant\n%s", params["entries"], want)
	}
	if params["control-plane-subnet"] != "subnet-a" || params["worker-subnets"] != "subnet-b" {
		t.Errorf("params = %v", params)
	}
	if n := len(f.callsTo("ec2:CreateNetworkAclEntry")); n != 0 {
		t.Errorf("Plan changed %d entries", n)
	}
	subnets := f.callsTo("ec2:DescribeSubnets")[0].Form
	if subnets.Get("SubnetId.1") != "subnet-a" || subnets.Get("SubnetId.2") != "subnet-b" || subnets.Get("SubnetId.3") != "" {
		t.Errorf("DescribeSubnets form = %v", subnets)
	}
	acls := f.callsTo("ec2:DescribeNetworkAcls")[0].Form
	if acls.Get("Filter.1.Name") != "association.subnet-id" || acls.Get("Filter.1.Value.1") != "subnet-a" || acls.Get("Filter.1.Value.2") != "subnet-b" {
		t.Errorf("DescribeNetworkAcls form = %v", acls)
	}
}

func TestNACLPartitionPlanRefuses(t *testing.T) {
	tests := []struct {
		name    string
		acls    string
		workers []fixtureInstance
		want    string
	}{
		{
			name: "shared ACL",
			acls: aclXML("acl-1", []string{"subnet-a", "subnet-b"}, workerACLEntries),
			want: "the control plane's subnet subnet-a and worker subnet subnet-b share network ACL acl-1",
		},
		{
			name:    "worker in the control plane's subnet",
			workers: []fixtureInstance{{ID: "i-0w9", Role: "worker", DNS: "ip-10-0-1-99.ec2.internal", Zone: "us-east-1a", Subnet: "subnet-a"}},
			want:    "worker ip-10-0-1-99.ec2.internal (i-0w9) is in the control plane's subnet subnet-a",
		},
		{
			name: "no rule number ahead of the allow",
			acls: aclXML("acl-cp", []string{"subnet-a"}, []aclEntry{{1, false, "allow", "0.0.0.0/0"}, {1, true, "allow", "0.0.0.0/0"}}) +
				aclXML("acl-w", []string{"subnet-b"}, workerACLEntries),
			want: "network ACL acl-cp allows ingress traffic from rule 1 on and has only 0 free rule numbers below it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			workers := tt.workers
			if workers == nil {
				workers = []fixtureInstance{w1Fixture, w2Fixture}
			}
			f.setInstances(append([]fixtureInstance{cpFixture}, workers...)...)
			p := openFake(t, f, testOptions(f))
			naclFake(f, tt.acls)
			_, err := NACLPartition{}.Plan(testContext(t), p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan: %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNACLPartitionApplyRevert(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	params := faults.Params{"entries": strings.Join([]string{
		"acl-cp ingress 2 10.0.2.0/24",
		"acl-cp egress 1 10.0.2.0/24",
		"acl-w ingress 1 10.0.1.0/24",
		"acl-w ingress 2 2600:1f18:1::/64",
		"acl-w egress 1 10.0.1.0/24",
		"acl-w egress 2 2600:1f18:1::/64",
	}, "\n")}
	f.on("ec2:CreateNetworkAclEntry", func(call) reply { return ec2OK("CreateNetworkAclEntry", "<return>true</return>") })
	if err := (NACLPartition{}).Apply(testContext(t), p, params); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range f.callsTo("ec2:CreateNetworkAclEntry") {
		fm := c.Form
		got = append(got, strings.Join([]string{fm.Get("NetworkAclId"), fm.Get("RuleNumber"), fm.Get("Egress"), fm.Get("Protocol"),
			fm.Get("RuleAction"), fm.Get("CidrBlock"), fm.Get("Ipv6CidrBlock")}, "|"))
	}
	want := []string{
		"acl-cp|2|false|-1|deny|10.0.2.0/24|",
		"acl-cp|1|true|-1|deny|10.0.2.0/24|",
		"acl-w|1|false|-1|deny|10.0.1.0/24|",
		"acl-w|2|false|-1|deny||2600:1f18:1::/64",
		"acl-w|1|true|-1|deny|10.0.1.0/24|",
		"acl-w|2|true|-1|deny||2600:1f18:1::/64",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CreateNetworkAclEntry calls:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Revert: acl-cp's egress 1 has been taken by someone else's allow
	// entry, acl-w's egress 2 is already gone, and deleting acl-w's
	// ingress 1 races with someone else deleting it.
	current := map[string]string{
		"acl-cp": aclXML("acl-cp", []string{"subnet-a"}, append([]aclEntry{{2, false, "deny", "10.0.2.0/24"}, {1, true, "allow", "10.9.0.0/16"}}, cpACLEntries...)),
		"acl-w": aclXML("acl-w", []string{"subnet-b"}, append([]aclEntry{
			{1, false, "deny", "10.0.1.0/24"}, {2, false, "deny", "2600:1f18:1::/64"}, {1, true, "deny", "10.0.1.0/24"},
		}, workerACLEntries...)),
	}
	f.on("ec2:DescribeNetworkAcls", func(c call) reply {
		acl, ok := current[c.Form.Get("NetworkAclId.1")]
		if !ok {
			return ec2Err("InvalidNetworkAclID.NotFound", "The networkAcl ID does not exist")
		}
		return ec2OK("DescribeNetworkAcls", "<networkAclSet>"+acl+"</networkAclSet>")
	})
	f.on("ec2:DeleteNetworkAclEntry", func(c call) reply {
		if c.Form.Get("NetworkAclId") == "acl-w" && c.Form.Get("RuleNumber") == "1" && c.Form.Get("Egress") == "false" {
			return ec2Err("InvalidNetworkAclEntry.NotFound", "gone")
		}
		return ec2OK("DeleteNetworkAclEntry", "<return>true</return>")
	})
	if err := (NACLPartition{}).Revert(testContext(t), p, params); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range f.callsTo("ec2:DeleteNetworkAclEntry") {
		got = append(got, c.Form.Get("NetworkAclId")+" "+c.Form.Get("RuleNumber")+" "+c.Form.Get("Egress"))
	}
	sort.Strings(got)
	want = []string{"acl-cp 2 false", "acl-w 1 false", "acl-w 1 true", "acl-w 2 false"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("deleted %v, want %v", got, want)
	}

	// Once the ACLs are gone, Revert has nothing left to do.
	current = map[string]string{}
	if err := (NACLPartition{}).Revert(testContext(t), p, params); err != nil {
		t.Errorf("second Revert: %v", err)
	}
}

func TestNACLPartitionMalformedParams(t *testing.T) {
	for _, entries := range []string{"acl-1 sideways 1 10.0.0.0/8", "acl-1 ingress 0 10.0.0.0/8", "acl-1 ingress 40000 10.0.0.0/8", "acl-1 ingress 1"} {
		if _, err := naclEntries(faults.Params{"entries": entries}); err == nil {
			t.Errorf("naclEntries(%q) succeeded", entries)
		}
	}
}
