package awslocal

import (
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

func instanceIDs(out *ec2.DescribeInstancesOutput) []string {
	var ids []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	sort.Strings(ids)
	return ids
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestDescribeInstancesFilters(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	all := append([]string{f.cp}, f.workers...)
	sort.Strings(all)
	workers := slices.Sorted(slices.Values(f.workers))
	tests := []struct {
		name string
		in   ec2.DescribeInstancesInput
		want []string
	}{
		{"everything", ec2.DescribeInstancesInput{}, all},
		{"by tag", ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("tag:kdrill/cluster"), Values: []string{"test"}},
			{Name: aws.String("tag:kdrill/role"), Values: []string{"worker"}},
		}}, workers},
		{"by tag wildcard", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("tag:Name"), Values: []string{"w*"}}}}, workers},
		{"by tag, no match", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("tag:kdrill/cluster"), Values: []string{"other"}}}}, nil},
		{"by id filter", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{f.cp}}}}, []string{f.cp}},
		{"by InstanceIds", ec2.DescribeInstancesInput{InstanceIds: []string{f.cp}}, []string{f.cp}},
		{"by state", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running", "pending"}}}}, all},
		{"by stopped state", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"stopped"}}}}, nil},
		{"by zone", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}}}}, []string{f.cp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.c.ec2.DescribeInstances(ctx, &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := instanceIDs(out); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDescribeInstancesShape(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	out, err := f.c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{f.cp}})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Reservations[0].Instances[0]
	checks := map[string][2]string{
		"state":       {string(in.State.Name), "running"},
		"zone":        {aws.ToString(in.Placement.AvailabilityZone), "us-east-1a"},
		"private ip":  {aws.ToString(in.PrivateIpAddress), "10.0.1.10"},
		"private dns": {aws.ToString(in.PrivateDnsName), "ip-10-0-1-10.ec2.internal"},
		"image":       {aws.ToString(in.ImageId), "ami-0123456789abcdef0"},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %q, want %q", what, c[0], c[1])
		}
	}
	if aws.ToInt32(in.State.Code) != 16 {
		t.Errorf("state code %d, want 16", aws.ToInt32(in.State.Code))
	}
	if aws.ToString(in.SubnetId) == "" || aws.ToString(in.VpcId) == "" {
		t.Errorf("no subnet or VPC: %q %q", aws.ToString(in.SubnetId), aws.ToString(in.VpcId))
	}
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["kdrill/role"] != "control-plane" || tags["Name"] != "cp" {
		t.Errorf("tags %v", tags)
	}
	if in.LaunchTime == nil || time.Since(*in.LaunchTime) > time.Hour {
		t.Errorf("launch time %v", in.LaunchTime)
	}
	if len(in.BlockDeviceMappings) != 2 {
		t.Errorf("block devices %d, want 2", len(in.BlockDeviceMappings))
	}
}

func TestDescribeInstancesErrors(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	tests := []struct {
		name string
		in   ec2.DescribeInstancesInput
		code string
	}{
		{"unknown id", ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}}, "InvalidInstanceID.NotFound"},
		{"malformed id", ec2.DescribeInstancesInput{InstanceIds: []string{"bogus"}}, "InvalidInstanceID.Malformed"},
		{"unknown filter", ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("no-such-filter"), Values: []string{"x"}}}}, "InvalidParameterValue"},
		{"dry run", ec2.DescribeInstancesInput{DryRun: aws.Bool(true)}, "DryRunOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.ec2.DescribeInstances(ctx, &tt.in)
			if got := apiCode(err); got != tt.code {
				t.Errorf("error %v (code %q), want code %s", err, got, tt.code)
			}
		})
	}
}

// state reads one instance's state name.
func (f *fixture) state(t *testing.T, id string) types.InstanceStateName {
	t.Helper()
	out, err := f.c.ec2.DescribeInstances(testContext(t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Reservations[0].Instances[0].State.Name
}

func TestStopStartReboot(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	id := f.workers[0]

	if _, err := f.c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, DryRun: aws.Bool(true)}); apiCode(err) != "DryRunOperation" {
		t.Fatalf("dry-run stop: %v, want DryRunOperation", err)
	}
	if n := len(f.backend.Events()); n != 0 {
		t.Fatalf("a dry run reached the backend: %v", f.backend.Events())
	}

	stop, err := f.c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	ch := stop.StoppingInstances[0]
	if aws.ToString(ch.InstanceId) != id || ch.PreviousState.Name != types.InstanceStateNameRunning || ch.CurrentState.Name != types.InstanceStateNameStopping {
		t.Errorf("stop answered %s %s -> %s", aws.ToString(ch.InstanceId), ch.PreviousState.Name, ch.CurrentState.Name)
	}
	waiter := ec2.NewInstanceStoppedWaiter(f.c.ec2, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := waiter.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ev := f.backend.Events(); len(ev) != 1 || ev[0].Op != "stop" || !ev[0].Force {
		t.Errorf("backend events %+v, want one forced stop", ev)
	}
	if _, err := f.c.ec2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}); apiCode(err) != "IncorrectInstanceState" {
		t.Errorf("reboot of a stopped instance: %v, want IncorrectInstanceState", err)
	}

	start, err := f.c.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if s := start.StartingInstances[0]; s.PreviousState.Name != types.InstanceStateNameStopped || s.CurrentState.Name != types.InstanceStateNamePending {
		t.Errorf("start answered %s -> %s", s.PreviousState.Name, s.CurrentState.Name)
	}
	running := ec2.NewInstanceRunningWaiter(f.c.ec2, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := running.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	if _, err := f.c.ec2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a reboot in the backend", func() bool {
		return slices.ContainsFunc(f.backend.Events(), func(e Event) bool { return e.Op == "reboot" && e.ID == id })
	})
	if st := f.state(t, id); st != types.InstanceStateNameRunning {
		t.Errorf("after reboot: %s", st)
	}
	if _, err := f.c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0000000000000000f"}}); apiCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("stop of an unknown instance: %v", err)
	}
}

func TestInstanceStatus(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	status := func(all bool, ids ...string) map[string]string {
		t.Helper()
		out, err := f.c.ec2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: ids, IncludeAllInstances: aws.Bool(all)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, s := range out.InstanceStatuses {
			m[aws.ToString(s.InstanceId)] = string(s.InstanceStatus.Status)
		}
		return m
	}
	if got := status(false, f.cp); got[f.cp] != "ok" {
		t.Errorf("healthy: %v", got)
	}
	// A machine that dies behind EC2's back is still "running" to EC2 and
	// fails its status check.
	if err := f.backend.Crash(f.cp); err != nil {
		t.Fatal(err)
	}
	if got := status(false, f.cp); got[f.cp] != "impaired" {
		t.Errorf("crashed: %v", got)
	}
	if st := f.state(t, f.cp); st != types.InstanceStateNameRunning {
		t.Errorf("a crashed instance is %s to EC2, want running", st)
	}
	out, err := f.c.ec2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{f.cp}})
	if err != nil {
		t.Fatal(err)
	}
	d := out.InstanceStatuses[0].InstanceStatus.Details[0]
	if d.Name != types.StatusNameReachability || d.Status != types.StatusTypeFailed || d.ImpairedSince == nil {
		t.Errorf("details %+v", d)
	}

	if err := f.srv.SetImpaired(ctx, f.workers[0], true); err != nil {
		t.Fatal(err)
	}
	if got := status(false, f.workers[0]); got[f.workers[0]] != "impaired" {
		t.Errorf("marked impaired: %v", got)
	}
	if err := f.srv.SetImpaired(ctx, f.workers[0], false); err != nil {
		t.Fatal(err)
	}
	if err := f.backend.Hang(f.workers[1], true); err != nil {
		t.Fatal(err)
	}
	if got := status(false, f.workers...); got[f.workers[0]] != "ok" || got[f.workers[1]] != "impaired" {
		t.Errorf("one hung worker: %v", got)
	}

	if _, err := f.c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{f.workers[0]}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the worker to stop", func() bool { return f.state(t, f.workers[0]) == types.InstanceStateNameStopped })
	if got := status(false, f.workers[0]); len(got) != 0 {
		t.Errorf("a stopped instance is listed without IncludeAllInstances: %v", got)
	}
	if got := status(true, f.workers[0]); got[f.workers[0]] != "not-applicable" {
		t.Errorf("stopped with IncludeAllInstances: %v", got)
	}
}

func TestDescribeVolumes(t *testing.T) {
	f := newFixture(t, nil)
	out, err := f.c.ec2.DescribeVolumes(testContext(t), &ec2.DescribeVolumesInput{Filters: []types.Filter{
		{Name: aws.String("attachment.instance-id"), Values: []string{f.cp}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Volumes) != 2 {
		t.Fatalf("%d volumes, want 2", len(out.Volumes))
	}
	keep := map[string]bool{}
	for _, v := range out.Volumes {
		a := v.Attachments[0]
		if aws.ToString(a.InstanceId) != f.cp || v.State != types.VolumeStateInUse || aws.ToString(v.AvailabilityZone) != "us-east-1a" {
			t.Errorf("volume %+v", v)
		}
		keep[aws.ToString(a.Device)] = !aws.ToBool(a.DeleteOnTermination)
	}
	if keep["/dev/xvda"] || !keep["/dev/sdf"] {
		t.Errorf("kept volumes %v, want /dev/sdf only", keep)
	}
	none, err := f.c.ec2.DescribeVolumes(testContext(t), &ec2.DescribeVolumesInput{Filters: []types.Filter{
		{Name: aws.String("attachment.instance-id"), Values: []string{f.workers[0]}},
	}})
	if err != nil || len(none.Volumes) != 0 {
		t.Errorf("worker volumes: %v %v", none, err)
	}
}

// subnetOf finds the subnet of a zone.
func (f *fixture) subnetOf(t *testing.T, zone string) types.Subnet {
	t.Helper()
	out, err := f.c.ec2.DescribeSubnets(testContext(t), &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("availability-zone"), Values: []string{zone}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Subnets) != 1 {
		t.Fatalf("%d subnets in %s", len(out.Subnets), zone)
	}
	return out.Subnets[0]
}

func (f *fixture) aclOf(t *testing.T, subnetID string) types.NetworkAcl {
	t.Helper()
	out, err := f.c.ec2.DescribeNetworkAcls(testContext(t), &ec2.DescribeNetworkAclsInput{Filters: []types.Filter{
		{Name: aws.String("association.subnet-id"), Values: []string{subnetID}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NetworkAcls) != 1 {
		t.Fatalf("%d ACLs for %s", len(out.NetworkAcls), subnetID)
	}
	return out.NetworkAcls[0]
}

func TestSubnetsAndNetworkACLs(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	all, err := f.c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Subnets) != 2 {
		t.Fatalf("%d subnets, want one per zone", len(all.Subnets))
	}
	a, b := f.subnetOf(t, "us-east-1a"), f.subnetOf(t, "us-east-1b")
	if aws.ToString(a.CidrBlock) != "10.0.0.0/16" || aws.ToString(a.VpcId) != aws.ToString(b.VpcId) {
		t.Errorf("subnet a %+v", a)
	}
	acl := f.aclOf(t, aws.ToString(a.SubnetId))
	if len(acl.Entries) != 4 {
		t.Errorf("a new ACL has %d entries, want 4 (allow and catch-all, each way)", len(acl.Entries))
	}
	aclID := aws.ToString(acl.NetworkAclId)

	// Cut the control plane's subnet off from the workers' (both ways).
	for _, egress := range []bool{false, true} {
		_, err := f.c.ec2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(10), Protocol: aws.String("-1"),
			RuleAction: types.RuleActionDeny, Egress: aws.Bool(egress), CidrBlock: b.CidrBlock,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.c.ec2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
		NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(20), Protocol: aws.String("6"),
		RuleAction: types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String("192.168.0.0/16"),
		PortRange: &types.PortRange{From: aws.Int32(443), To: aws.Int32(443)},
	})
	if err != nil {
		t.Fatal(err)
	}
	acl = f.aclOf(t, aws.ToString(a.SubnetId))
	var got []string
	for _, e := range acl.Entries {
		got = append(got, string(e.RuleAction)+"/"+aws.ToString(e.CidrBlock))
	}
	if len(acl.Entries) != 7 || aws.ToInt32(acl.Entries[0].RuleNumber) != 10 {
		t.Errorf("entries %v", got)
	}
	for _, e := range acl.Entries {
		if aws.ToInt32(e.RuleNumber) == 20 && (e.PortRange == nil || aws.ToInt32(e.PortRange.From) != 443) {
			t.Errorf("port range lost: %+v", e)
		}
	}
	if _, err := f.c.ec2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
		NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(10), Protocol: aws.String("-1"),
		RuleAction: types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: b.CidrBlock,
	}); apiCode(err) != "NetworkAclEntryAlreadyExists" {
		t.Errorf("duplicate entry: %v", err)
	}

	// The control plane enforces the deny against the workers' addresses
	// and pod ranges only; the workers, whose ACL is untouched, nothing.
	rules := f.backend.AppliedACL(f.cp)
	if rules.Empty() {
		t.Fatal("no rules applied to the control plane")
	}
	if r := rules.Ingress[0]; r.Allow || r.Number != 10 || !slices.Equal(r.Peers, []string{"10.0.2.10/32", "10.0.2.11/32", "10.244.1.0/24", "10.244.2.0/24"}) {
		t.Errorf("first ingress rule %+v", r)
	}
	if !slices.Equal(rules.Local, []string{"10.0.1.10/32", "10.244.0.0/24"}) {
		t.Errorf("local addresses %v", rules.Local)
	}
	if last := rules.Egress[len(rules.Egress)-1]; last.Number != catchAll || last.Allow {
		t.Errorf("last egress rule %+v", last)
	}
	if !f.backend.AppliedACL(f.workers[0]).Empty() {
		t.Error("rules applied to a worker")
	}

	for _, egress := range []bool{false, true} {
		if _, err := f.c.ec2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(10), Egress: aws.Bool(egress)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.c.ec2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(20), Egress: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if !f.backend.AppliedACL(f.cp).Empty() {
		t.Errorf("rules left after the ACL is back to its first entries: %+v", f.backend.AppliedACL(f.cp))
	}
	if _, err := f.c.ec2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(aclID), RuleNumber: aws.Int32(10), Egress: aws.Bool(false)}); apiCode(err) != "InvalidNetworkAclEntry.NotFound" {
		t.Errorf("deleting a missing entry: %v", err)
	}
	if _, err := f.c.ec2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String("acl-00000000000000000"), RuleNumber: aws.Int32(10), Egress: aws.Bool(false)}); apiCode(err) != "InvalidNetworkAclID.NotFound" {
		t.Errorf("unknown ACL: %v", err)
	}
}

func TestRunInstancesFromTemplate(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	f.backend.AddLaunchTemplate(LaunchTemplate{ID: "lt-0123456789abcdef0", Name: "control-plane", Version: 3, CreateTime: time.Now(), ImageID: "ami-0aaaaaaaaaaaaaaaa", InstanceType: "m6i.large"})

	lts, err := f.c.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"control-plane"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lts.LaunchTemplates) != 1 || aws.ToString(lts.LaunchTemplates[0].LaunchTemplateId) != "lt-0123456789abcdef0" || aws.ToInt64(lts.LaunchTemplates[0].LatestVersionNumber) != 3 {
		t.Fatalf("templates %+v", lts.LaunchTemplates)
	}
	if _, err := f.c.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nope"}}); apiCode(err) != "InvalidLaunchTemplateName.NotFoundException" {
		t.Errorf("unknown template: %v", err)
	}

	b := f.subnetOf(t, "us-east-1b")
	out, err := f.c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: b.SubnetId,
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("control-plane"), Version: aws.String("$Latest")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
			{Key: aws.String("Name"), Value: aws.String("cp2")}, {Key: aws.String("kdrill/role"), Value: aws.String("control-plane")},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Instances[0]
	if in.State.Name != types.InstanceStateNamePending || aws.ToString(in.Placement.AvailabilityZone) != "us-east-1b" ||
		aws.ToString(in.ImageId) != "ami-0aaaaaaaaaaaaaaaa" || in.InstanceType != "m6i.large" {
		t.Errorf("launched %+v", in)
	}
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["aws:ec2launchtemplate:id"] != "lt-0123456789abcdef0" || tags["aws:ec2launchtemplate:version"] != "3" || tags["Name"] != "cp2" {
		t.Errorf("tags %v", tags)
	}
	if st := f.state(t, aws.ToString(in.InstanceId)); st != types.InstanceStateNameRunning {
		t.Errorf("launched instance is %s", st)
	}
	// A retry with the same client token launches nothing new.
	again := func() string {
		t.Helper()
		out, err := f.c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String("ami-0bbbbbbbbbbbbbbbb"),
			ClientToken: aws.String("retry-me")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Instances[0].InstanceId)
	}
	if first, second := again(), again(); first != second {
		t.Errorf("the same client token launched %s and %s", first, second)
	}
	if _, err := f.c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String("ami-1"), SubnetId: aws.String("subnet-00000000000000000")}); apiCode(err) != "InvalidSubnetID.NotFound" {
		t.Errorf("unknown subnet: %v", err)
	}
}
