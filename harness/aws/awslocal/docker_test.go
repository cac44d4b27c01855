package awslocal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The Docker tests run throwaway containers of a local Debian image
// (kdrill/base, built by the node image build) on a network of their own,
// all named awslocal-test-*, and remove them when done. They skip when no
// Docker engine answers, no such image exists, or with -short.

// dockerLab is a test's containers and network.
type dockerLab struct {
	t      *testing.T
	prefix string // awslocal-test-<random>
	label  string
	image  string
	ids    map[string]string // container name → container id
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newDockerLab starts one container per name (prefixed) on a new network.
func newDockerLab(t *testing.T, names ...string) *dockerLab {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Docker; skipped with -short ('make integration' runs it)")
	}
	// In CI ('make integration', after the image build) these must run.
	missing := t.Skip
	if os.Getenv("CI") == "true" {
		missing = t.Fatal
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		missing("no Docker engine answers")
	}
	images := strings.Fields(docker(t, "images", "kdrill/base", "--format", "{{.Repository}}:{{.Tag}}"))
	if len(images) == 0 {
		missing("no local kdrill/base image (it is built with the node image)")
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	l := &dockerLab{t: t, prefix: "awslocal-test-" + hex.EncodeToString(rnd[:]), image: images[0], ids: map[string]string{}}
	l.label = "awslocal.test=" + l.prefix
	docker(t, "network", "create", "--label", l.label, l.prefix)
	t.Cleanup(func() {
		if ids := strings.Fields(docker(t, "ps", "-aq", "--filter", "label="+l.label)); len(ids) > 0 {
			docker(t, append([]string{"rm", "-f", "-v"}, ids...)...)
		}
		docker(t, "network", "rm", l.prefix)
	})
	for _, n := range names {
		l.ids[n] = l.run(n)
	}
	return l
}

// runArgs run the image as a small machine: sleep as its only process
// (behind docker's init, so that stop is prompt), able to use iptables.
func (l *dockerLab) runArgs() []string {
	return []string{"--init", "--stop-signal", "TERM", "--cap-add", "NET_ADMIN", "--entrypoint", "sleep"}
}

func (l *dockerLab) run(name string, extra ...string) string {
	args := []string{"run", "-d", "--name", l.name(name), "--hostname", name, "--label", l.label, "--network", l.prefix}
	args = append(args, extra...)
	args = append(args, l.runArgs()...)
	args = append(args, l.image, "infinity")
	return docker(l.t, args...)
}

func (l *dockerLab) name(n string) string { return l.prefix + "-" + n }

func (l *dockerLab) id(n string) string { return dockerInstanceID(l.ids[n]) }

type inspected struct {
	State struct {
		Running   bool
		Paused    bool
		ExitCode  int
		StartedAt time.Time
	}
	NetworkSettings struct {
		Networks map[string]struct{ IPAddress string }
	}
}

func (l *dockerLab) inspect(n string) inspected {
	var out []inspected
	if err := json.Unmarshal([]byte(docker(l.t, "inspect", l.name(n))), &out); err != nil {
		l.t.Fatal(err)
	}
	return out[0]
}

func (l *dockerLab) ip(n string) string {
	return l.inspect(n).NetworkSettings.Networks[l.prefix].IPAddress
}

// reaches reports whether a TCP connection from one container to
// another's unused port 9 is refused (the packet got through) rather than
// dropped.
func (l *dockerLab) reaches(from, to string) bool {
	out, _ := exec.Command("docker", "exec", l.name(from), "timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/"+l.ip(to)+"/9").CombinedOutput()
	return strings.Contains(string(out), "refused")
}

func (l *dockerLab) iptables(n string) string {
	return docker(l.t, "exec", l.name(n), "iptables", "-S")
}

// dockerFixture is a server over a DockerBackend of the lab's containers:
// cp alone in us-east-1a, w1 and w2 in us-east-1b.
func dockerFixture(t *testing.T, mod func(*dockerLab, *Options, *DockerOptions)) (*dockerLab, *Server, clients) {
	l := newDockerLab(t, "cp", "w1", "w2")
	tags := map[string]map[string]string{}
	for n, role := range map[string]string{"cp": "control-plane", "w1": "worker", "w2": "worker"} {
		tags[l.name(n)] = map[string]string{"kdrill/role": role, "kdrill/cluster": l.prefix}
	}
	do := DockerOptions{
		Label:       l.label,
		Network:     l.prefix,
		Zones:       map[string]string{l.name("cp"): "us-east-1a", l.name("w1"): "us-east-1b", l.name("w2"): "us-east-1b"},
		Tags:        tags,
		StopTimeout: 2 * time.Second,
	}
	o := Options{AccessKeyID: testKey, SecretAccessKey: testSecret, Region: testRegion, S3Dir: t.TempDir(), FirewallInterval: 200 * time.Millisecond}
	if mod != nil {
		mod(l, &o, &do)
	}
	b, err := NewDockerBackend(testContext(t), do)
	if err != nil {
		t.Fatal(err)
	}
	o.Backend = b
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l, srv, newClients(sdkConfig(testKey, testSecret, testRegion), hs.URL)
}

func dockerState(t *testing.T, c clients, id string) types.InstanceStateName {
	t.Helper()
	out, err := c.ec2.DescribeInstances(testContext(t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Reservations[0].Instances[0].State.Name
}

func dockerStatus(t *testing.T, c clients, id string) string {
	t.Helper()
	out, err := c.ec2.DescribeInstanceStatus(testContext(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return string(out.InstanceStatuses[0].InstanceStatus.Status)
}

func TestDockerInstances(t *testing.T) {
	l, _, c := dockerFixture(t, nil)
	ctx := testContext(t)
	out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:kdrill/cluster"), Values: []string{l.prefix}},
		{Name: aws.String("tag:kdrill/role"), Values: []string{"worker"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]types.Instance{}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			got[aws.ToString(in.InstanceId)] = in
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d workers, want 2", len(got))
	}
	for _, n := range []string{"w1", "w2"} {
		in, ok := got[l.id(n)]
		if !ok {
			t.Fatalf("no instance %s for container %s", l.id(n), n)
		}
		if aws.ToString(in.PrivateIpAddress) != l.ip(n) || aws.ToString(in.Placement.AvailabilityZone) != "us-east-1b" || in.State.Name != types.InstanceStateNameRunning {
			t.Errorf("%s: ip %s zone %s state %s", n, aws.ToString(in.PrivateIpAddress), aws.ToString(in.Placement.AvailabilityZone), in.State.Name)
		}
		var name string
		for _, tg := range in.Tags {
			if aws.ToString(tg.Key) == "Name" {
				name = aws.ToString(tg.Value)
			}
		}
		if name != l.name(n) {
			t.Errorf("Name tag %q", name)
		}
	}
}

func TestDockerStopStartReboot(t *testing.T) {
	l, _, c := dockerFixture(t, nil)
	ctx := testContext(t)
	id := l.id("w1")

	if _, err := c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a clean stop", func() bool { return dockerState(t, c, id) == types.InstanceStateNameStopped })
	if st := l.inspect("w1").State; st.Running || st.ExitCode == 137 {
		t.Errorf("after a clean stop: %+v", st)
	}
	if _, err := c.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the start", func() bool { return dockerState(t, c, id) == types.InstanceStateNameRunning })
	if !l.inspect("w1").State.Running {
		t.Error("the container is not running")
	}

	if _, err := c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a forced stop", func() bool { return dockerState(t, c, id) == types.InstanceStateNameStopped })
	if st := l.inspect("w1").State; st.ExitCode != 137 {
		t.Errorf("a forced stop did not kill: exit code %d", st.ExitCode)
	}

	before := l.inspect("w2").State.StartedAt
	if _, err := c.ec2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{l.id("w2")}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the reboot", func() bool {
		st := l.inspect("w2").State
		return st.Running && st.StartedAt.After(before)
	})
}

func TestDockerStatusCheck(t *testing.T) {
	l, _, c := dockerFixture(t, nil)
	ctx := testContext(t)
	id := l.id("cp")
	if s := dockerStatus(t, c, id); s != "ok" {
		t.Fatalf("status %s", s)
	}
	// The machine dies behind EC2's back: still running to EC2, impaired.
	docker(t, "kill", l.name("cp"))
	if s, st := dockerStatus(t, c, id), dockerState(t, c, id); s != "impaired" || st != types.InstanceStateNameRunning {
		t.Errorf("killed outside EC2: status %s state %s", s, st)
	}
	if _, err := c.ec2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the reboot to bring it back", func() bool { return dockerStatus(t, c, id) == "ok" })

	// A frozen machine (docker pause) is hung: impaired too. Freezing can
	// fail on some cgroup v1 hosts right after a start; try a few times.
	var paused bool
	for i := 0; i < 5 && !paused; i++ {
		paused = exec.Command("docker", "pause", l.name("cp")).Run() == nil
		if !paused {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if !paused {
		t.Log("docker pause failed on this host; the hung case is not checked")
		return
	}
	if s := dockerStatus(t, c, id); s != "impaired" {
		t.Errorf("paused: status %s", s)
	}
	if _, err := c.ec2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the reboot of a hung machine", func() bool { return dockerStatus(t, c, id) == "ok" })
}

func TestDockerRunCommand(t *testing.T) {
	l, _, c := dockerFixture(t, nil)
	ctx := testContext(t)
	run := func(id string, commands ...string) *ssm.GetCommandInvocationOutput {
		t.Helper()
		sent, err := c.ssm.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{id},
			Parameters: map[string][]string{"commands": commands}})
		if err != nil {
			t.Fatal(err)
		}
		var out *ssm.GetCommandInvocationOutput
		eventually(t, 20*time.Second, "the command to end", func() bool {
			out, err = c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: sent.Command.CommandId, InstanceId: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			return out.Status != ssmtypes.CommandInvocationStatusPending && out.Status != ssmtypes.CommandInvocationStatusInProgress
		})
		return out
	}
	out := run(l.id("cp"), "hostname", "grep -c bookworm /etc/os-release >/dev/null && echo debian")
	if out.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(out.StandardOutputContent) != "cp\ndebian\n" {
		t.Errorf("got %s %q %q", out.Status, aws.ToString(out.StandardOutputContent), aws.ToString(out.StandardErrorContent))
	}
	out = run(l.id("cp"), "echo bad >&2; exit 5")
	if out.Status != ssmtypes.CommandInvocationStatusFailed || out.ResponseCode != 5 || aws.ToString(out.StandardErrorContent) != "bad\n" {
		t.Errorf("failing script: %s %d %q", out.Status, out.ResponseCode, aws.ToString(out.StandardErrorContent))
	}
	if _, err := c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{l.id("w1")}, Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the stop", func() bool { return dockerState(t, c, l.id("w1")) == types.InstanceStateNameStopped })
	out = run(l.id("w1"), "true")
	if out.Status != ssmtypes.CommandInvocationStatusFailed || aws.ToString(out.StatusDetails) != "Undeliverable" {
		t.Errorf("on a stopped instance: %s %s", out.Status, aws.ToString(out.StatusDetails))
	}
}

func TestDockerNetworkACL(t *testing.T) {
	l, srv, c := dockerFixture(t, nil)
	ctx := testContext(t)
	if !l.reaches("cp", "w1") || !l.reaches("w1", "cp") || !l.reaches("w1", "w2") {
		t.Fatal("the containers do not reach each other to begin with")
	}
	subnets, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	zoneSubnet := map[string]types.Subnet{}
	for _, s := range subnets.Subnets {
		zoneSubnet[aws.ToString(s.AvailabilityZone)] = s
	}
	acls, err := c.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []types.Filter{
		{Name: aws.String("association.subnet-id"), Values: []string{aws.ToString(zoneSubnet["us-east-1a"].SubnetId)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	aclID := acls.NetworkAcls[0].NetworkAclId
	workers := zoneSubnet["us-east-1b"].CidrBlock
	partition := func(create bool) {
		t.Helper()
		for _, egress := range []bool{false, true} {
			var err error
			if create {
				_, err = c.ec2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aclID, RuleNumber: aws.Int32(50),
					Protocol: aws.String("-1"), RuleAction: types.RuleActionDeny, Egress: aws.Bool(egress), CidrBlock: workers})
			} else {
				_, err = c.ec2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aclID, RuleNumber: aws.Int32(50), Egress: aws.Bool(egress)})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	partition(true)
	if l.reaches("cp", "w1") || l.reaches("w2", "cp") {
		t.Error("the control plane's subnet still talks to the workers'")
	}
	if !l.reaches("w1", "w2") {
		t.Error("the workers' own subnet was cut")
	}
	// The host stands for the world outside the VPC: not cut.
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(l.ip("cp"), "9"), 2*time.Second); err == nil {
		conn.Close()
	} else if !strings.Contains(err.Error(), "refused") {
		t.Errorf("the host no longer reaches the control plane: %v", err)
	}
	rules := l.iptables("cp")
	for _, want := range []string{"-A INPUT -m comment --comment awslocal-nacl -j AWSLOCAL-NACL-IN", "-A OUTPUT -m comment --comment awslocal-nacl -j AWSLOCAL-NACL-OUT",
		"-A AWSLOCAL-NACL-IN -s " + l.ip("w1") + "/32 -m comment --comment \"awslocal-nacl " + aws.ToString(aclID) + " rule 50 deny\" -j DROP"} {
		if !strings.Contains(rules, want) {
			t.Errorf("no %q in the control plane's rules:\n%s", want, rules)
		}
	}
	if strings.Contains(l.iptables("w1"), "awslocal") {
		t.Error("rules in a worker, whose ACL is untouched")
	}

	// A reboot behind EC2's back wipes the rules; the server puts them back.
	docker(t, "restart", "-t", "1", l.name("cp"))
	eventually(t, 20*time.Second, "the rules back after a restart", func() bool { return strings.Contains(l.iptables("cp"), "rule 50 deny") })
	if l.reaches("cp", "w1") {
		t.Error("cut lifted by a restart")
	}

	partition(false)
	if !l.reaches("cp", "w1") || !l.reaches("w2", "cp") {
		t.Error("still cut after the entries are deleted")
	}
	if rules := l.iptables("cp"); strings.Contains(rules, "awslocal") || strings.Contains(rules, "AWSLOCAL") {
		t.Errorf("rules left behind:\n%s", rules)
	}

	// Closing the server removes whatever it still enforces.
	partition(true)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if rules := l.iptables("cp"); strings.Contains(rules, "AWSLOCAL") {
		t.Errorf("rules left after Close:\n%s", rules)
	}
}

func TestDockerAlarmReboots(t *testing.T) {
	l, _, c := dockerFixture(t, func(_ *dockerLab, o *Options, _ *DockerOptions) { o.TimeScale = 120 }) // 60 s periods last 0.5 s
	ctx := testContext(t)
	id := l.id("cp")
	in := statusAlarm("cp-status", id)
	if _, err := c.cw.PutMetricAlarm(ctx, in); err != nil {
		t.Fatal(err)
	}
	alarmState := func() cwtypes.StateValue {
		out, err := c.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"cp-status"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.MetricAlarms[0].StateValue
	}
	eventually(t, 20*time.Second, "OK while healthy", func() bool { return alarmState() == cwtypes.StateValueOk })
	docker(t, "kill", l.name("cp"))
	eventually(t, 30*time.Second, "the alarm to reboot the machine", func() bool { return l.inspect("cp").State.Running })
	eventually(t, 30*time.Second, "OK after the reboot", func() bool { return alarmState() == cwtypes.StateValueOk })
}

func TestDockerVolumesAndLaunch(t *testing.T) {
	data := t.TempDir()
	l, _, c := dockerFixture(t, func(l *dockerLab, _ *Options, do *DockerOptions) {
		do.LaunchTemplates = []DockerLaunchTemplate{{
			Name: "worker", Image: l.image, RunArgs: l.runArgs(), Command: []string{"infinity"},
			InstanceTags: map[string]string{"kdrill/role": "worker"},
		}}
	})
	ctx := testContext(t)
	withData := dockerInstanceID(l.run("data", "-v", data+":/var/lib/etcd"))
	vols, err := c.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{withData}}}})
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, v := range vols.Volumes {
		keep[aws.ToString(v.Attachments[0].Device)] = !aws.ToBool(v.Attachments[0].DeleteOnTermination)
	}
	if len(keep) != 2 || keep["/dev/xvda"] || !keep["/dev/sdf"] {
		t.Errorf("volumes (device → kept) %v, want the root and a kept /dev/sdf", keep)
	}

	subnets, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("availability-zone"), Values: []string{"us-east-1b"}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: subnets.Subnets[0].SubnetId,
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("worker")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
			{Key: aws.String("Name"), Value: aws.String(l.name("w3"))}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	eventually(t, 20*time.Second, "the new instance to run", func() bool { return dockerState(t, c, id) == types.InstanceStateNameRunning })
	desc, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	in := desc.Reservations[0].Instances[0]
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if aws.ToString(in.Placement.AvailabilityZone) != "us-east-1b" || tags["kdrill/role"] != "worker" || tags["Name"] != l.name("w3") ||
		!strings.HasPrefix(tags["aws:ec2launchtemplate:id"], "lt-") || aws.ToString(in.PrivateIpAddress) != l.ip("w3") {
		t.Errorf("launched %s in %s with tags %v at %s", id, aws.ToString(in.Placement.AvailabilityZone), tags, aws.ToString(in.PrivateIpAddress))
	}
}
