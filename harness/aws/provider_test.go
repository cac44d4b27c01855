package aws

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdrill/kdrill/harness"
)

func TestOpenRefuses(t *testing.T) {
	cluster := []fixtureInstance{cpFixture, w1Fixture}
	tests := []struct {
		name      string
		opts      func(o *Options)
		env       map[string]string
		noCreds   bool
		instances []fixtureInstance
		want      string
	}{
		{name: "no tags", opts: func(o *Options) { o.Tags = nil }, want: "no --aws-tag selector: kdrill never acts on all instances"},
		{name: "empty tag key", opts: func(o *Options) { o.Tags = map[string]string{"": "x"} }, want: "empty key"},
		{name: "no region", opts: func(o *Options) { o.Region = "" }, want: "no AWS region"},
		{name: "bad region", opts: func(o *Options) { o.Region = "mars" }, want: `AWS region "mars" is not a region name such as us-east-1`},
		{name: "region with a zone", opts: func(o *Options) { o.Region = "us-east-1a" }, want: "is not a region name"},
		{name: "no credentials", noCreds: true, want: "no AWS credentials found"},
		{name: "unknown profile", opts: func(o *Options) { o.Profile = "nobody" }, want: `AWS profile "nobody" is not in the shared config`},
		{name: "missing kubeconfig", opts: func(o *Options) { o.Kubeconfig = "/nonexistent/kubeconfig" }, want: "kubeconfig /nonexistent/kubeconfig"},
		{name: "no instance", instances: []fixtureInstance{}, want: "no instance in us-east-1 matches --aws-tag kdrill/cluster=drill"},
		{name: "no control plane", instances: []fixtureInstance{w1Fixture}, want: "none of the 1 instances matching --aws-tag kdrill/cluster=drill has kdrill/role=control-plane"},
		{
			name:      "several control planes",
			instances: []fixtureInstance{cpFixture, {ID: "i-0cp2", Role: "control-plane", DNS: "ip-10-0-1-20.ec2.internal", Zone: "us-east-1a", Subnet: "subnet-a"}, w1Fixture},
			want:      "2 instances matching --aws-tag kdrill/cluster=drill have kdrill/role=control-plane (i-0cp, i-0cp2)",
		},
		{
			name:      "no role",
			instances: []fixtureInstance{cpFixture, {ID: "i-0x", DNS: "ip-10-0-9-9.ec2.internal"}},
			want:      "instance i-0x matches --aws-tag kdrill/cluster=drill but has no kdrill/role tag",
		},
		{
			name:      "unknown role",
			instances: []fixtureInstance{cpFixture, {ID: "i-0x", Role: "etcd", DNS: "ip-10-0-9-9.ec2.internal"}},
			want:      `instance i-0x has kdrill/role="etcd"`,
		},
		{
			name:      "duplicate node names",
			instances: []fixtureInstance{cpFixture, {ID: "i-0x", Role: "worker", DNS: cpFixture.DNS}},
			want:      "both have node name ip-10-0-1-10.ec2.internal",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			isolate(t)
			if !tt.noCreds {
				withCredentials(t)
			}
			if tt.instances != nil {
				f.setInstances(tt.instances...)
			} else {
				f.setInstances(cluster...)
			}
			o := testOptions(f)
			if tt.opts != nil {
				tt.opts(&o)
			}
			_, err := Open(testContext(t), o)
			var ue *UserError
			if !errors.As(err, &ue) {
				t.Fatalf("Open: %v (%T), want a *UserError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestOpenMapsAuthErrors(t *testing.T) {
	tests := []struct{ code, want string }{
		{"AuthFailure", "AWS rejected the credentials"},
		{"UnauthorizedOperation", "docs/aws.md lists the IAM permissions"},
		{"OptInRequired", "region us-east-1 is not enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			f := newFakeAWS(t)
			f.on("ec2:DescribeInstances", func(call) reply { return ec2Err(tt.code, "no") })
			isolate(t)
			withCredentials(t)
			_, err := Open(testContext(t), testOptions(f))
			var ue *UserError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want a UserError containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenRegionFromEnvironment(t *testing.T) {
	f := newFakeAWS(t)
	isolate(t)
	withCredentials(t)
	t.Setenv("AWS_REGION", "eu-central-1")
	f.setInstances(cpFixture)
	o := testOptions(f)
	o.Region = ""
	p, err := Open(testContext(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if p.Region() != "eu-central-1" {
		t.Errorf("Region() = %q", p.Region())
	}
	// The request is signed for the region it goes to.
	c := f.callsTo("ec2:DescribeInstances")[0]
	if auth := c.Header.Get("Authorization"); !strings.Contains(auth, "/eu-central-1/ec2/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 scope for eu-central-1/ec2", auth)
	}
}

func TestNodes(t *testing.T) {
	f := newFakeAWS(t)
	o := testOptions(f)
	o.Tags["team"] = "sre"
	p := openFake(t, f, o)
	nodes, err := p.Nodes(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []harness.Node{
		{Name: "ip-10-0-1-10.ec2.internal", Role: harness.RoleControlPlane, Zone: "us-east-1a", Address: "10.0.1.10"},
		{Name: "ip-10-0-2-11.ec2.internal", Role: harness.RoleWorker, Zone: "us-east-1b", Address: "10.0.2.11"},
		{Name: "worker-2", Role: harness.RoleWorker, Zone: "us-east-1b", Address: "10.0.2.12"},
	}
	if len(nodes) != len(want) {
		t.Fatalf("Nodes = %+v", nodes)
	}
	for i := range want {
		if nodes[i] != want[i] {
			t.Errorf("node %d = %+v, want %+v", i, nodes[i], want[i])
		}
	}

	// Every tag is a filter, and terminated instances are filtered out.
	form := f.callsTo("ec2:DescribeInstances")[0].Form
	filters := map[string][]string{}
	for i := 1; form.Get(filterKey(i, "Name")) != ""; i++ {
		var vals []string
		for j := 1; form.Get(filterValue(i, j)) != ""; j++ {
			vals = append(vals, form.Get(filterValue(i, j)))
		}
		filters[form.Get(filterKey(i, "Name"))] = vals
	}
	if v := filters["tag:kdrill/cluster"]; len(v) != 1 || v[0] != "drill" {
		t.Errorf("filter tag:kdrill/cluster = %v", v)
	}
	if v := filters["tag:team"]; len(v) != 1 || v[0] != "sre" {
		t.Errorf("filter tag:team = %v", v)
	}
	states := strings.Join(filters["instance-state-name"], ",")
	if states != "pending,running,shutting-down,stopping,stopped" {
		t.Errorf("filter instance-state-name = %s", states)
	}

	for name, id := range map[string]string{"worker-2": "i-0w2", "ip-10-0-1-10.ec2.internal": "i-0cp", "i-0w1": "i-0w1"} {
		got, err := p.InstanceID(testContext(t), name)
		if err != nil || got != id {
			t.Errorf("InstanceID(%s) = %q, %v; want %s", name, got, err, id)
		}
	}
	if _, err := p.InstanceID(testContext(t), "ghost"); err == nil {
		t.Error("InstanceID(ghost) succeeded")
	}
}

func filterKey(i int, field string) string { return fmt.Sprintf("Filter.%d.%s", i, field) }
func filterValue(i, j int) string          { return fmt.Sprintf("Filter.%d.Value.%d", i, j) }

func TestNodesLeavesRetiredOut(t *testing.T) {
	f := newFakeAWS(t)
	old := cpFixture
	old.ID, old.Role, old.DNS = "i-0old", RoleRetired, "ip-10-0-1-99.ec2.internal"
	f.setInstances(old, cpFixture, w1Fixture)
	p := openFake(t, f, testOptions(f))
	nodes, err := p.Nodes(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == old.DNS {
			t.Errorf("retired instance listed: %+v", n)
		}
	}
}

func TestMachines(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	ctx := testContext(t)
	f.on("ec2:StopInstances", func(c call) reply {
		f.setState(c.Form.Get("InstanceId.1"), "stopping")
		return ec2OK("StopInstances", `<instancesSet/>`)
	})
	if err := p.StopNode(ctx, "ip-10-0-1-10.ec2.internal", true); err != nil {
		t.Fatal(err)
	}
	stops := f.callsTo("ec2:StopInstances")
	if len(stops) != 1 {
		t.Fatalf("%d StopInstances calls", len(stops))
	}
	if got := stops[0].Form; got.Get("InstanceId.1") != "i-0cp" || got.Get("Force") != "true" || got.Get("InstanceId.2") != "" {
		t.Errorf("StopInstances form = %v", got)
	}

	// A second stop finds it stopping: the user is told.
	err := p.StopNode(ctx, "ip-10-0-1-10.ec2.internal", false)
	var ue *UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "instance i-0cp (node ip-10-0-1-10.ec2.internal) is stopping; only a running instance can be stopped") {
		t.Errorf("StopNode on a stopping instance: %v", err)
	}

	running, err := p.NodeRunning(ctx, "ip-10-0-1-10.ec2.internal")
	if err != nil || running {
		t.Errorf("NodeRunning = %v, %v; want false", running, err)
	}

	// StartNode waits out "stopping", then starts.
	polls := 0
	f.on("ec2:DescribeInstances", func(c call) reply {
		if c.Form.Get("InstanceId.1") == "i-0cp" {
			if polls++; polls == 3 {
				f.setState("i-0cp", "stopped")
			}
		}
		return f.describeInstances(c)
	})
	f.on("ec2:StartInstances", func(c call) reply {
		f.setState(c.Form.Get("InstanceId.1"), "pending")
		return ec2OK("StartInstances", `<instancesSet/>`)
	})
	if err := p.StartNode(ctx, "ip-10-0-1-10.ec2.internal"); err != nil {
		t.Fatal(err)
	}
	starts := f.callsTo("ec2:StartInstances")
	if len(starts) != 1 || starts[0].Form.Get("InstanceId.1") != "i-0cp" {
		t.Fatalf("StartInstances calls: %+v", starts)
	}
	if polls < 3 {
		t.Errorf("StartNode polled %d times; it should wait for the instance to stop", polls)
	}
	// Pending counts as started: no second StartInstances.
	if err := p.StartNode(ctx, "ip-10-0-1-10.ec2.internal"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.callsTo("ec2:StartInstances")); n != 1 {
		t.Errorf("%d StartInstances calls, want 1", n)
	}
}

func TestStopNodeRefusedByEC2(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	f.on("ec2:StopInstances", func(call) reply {
		return ec2Err("UnsupportedOperation", "The instance 'i-0cp' does not have an 'ebs' root device type and cannot be stopped.")
	})
	err := p.StopNode(testContext(t), "ip-10-0-1-10.ec2.internal", false)
	var ue *UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot be stopped: The instance 'i-0cp' does not have an 'ebs' root device") {
		t.Errorf("StopNode: %v", err)
	}
}

func TestRESTConfig(t *testing.T) {
	f := newFakeAWS(t)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.0.1.10:6443"}}]
users: [{name: u, user: {token: t0ken}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := testOptions(f)
	o.Kubeconfig, o.WorkloadURL = kc, "http://10.0.2.11:30080/"
	p := openFake(t, f, o)
	cfg, err := p.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://10.0.1.10:6443" || cfg.BearerToken != "t0ken" {
		t.Errorf("RESTConfig = host %q token %q", cfg.Host, cfg.BearerToken)
	}
	if p.KubeconfigPath() != kc || p.WorkloadURL() != "http://10.0.2.11:30080/" {
		t.Errorf("KubeconfigPath %q WorkloadURL %q", p.KubeconfigPath(), p.WorkloadURL())
	}
}

func TestClassifyUnknownRegion(t *testing.T) {
	p := &Provider{region: "us-east-9"}
	err := p.classify(fmt.Errorf("list instances: %w", &net.DNSError{Err: "no such host", Name: "ec2.us-east-9.amazonaws.com", IsNotFound: true}))
	var ue *UserError
	if !errors.As(err, &ue) || ue.Msg != `AWS region "us-east-9" is unknown: ec2.us-east-9.amazonaws.com does not resolve` {
		t.Errorf("classify: %v", err)
	}
	// Behind an endpoint override the name is the stand-in's: not a region problem.
	p.o.Endpoint = "http://localstand-in:4566"
	if err := p.classify(&net.DNSError{Name: "localstand-in", IsNotFound: true}); errors.As(err, &ue) {
		t.Errorf("classify with an endpoint override: %v", err)
	}
}
