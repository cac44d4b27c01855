package aws

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/aws/awslocal"
)

// The tests in this file run the provider through the real SDK against
// the local AWS stand-in over its in-process backend: the calls the fake
// server checks one by one, played end to end.

// standIn is a stand-in with a control plane in us-east-1a and two workers
// in us-east-1b, tagged as testOptions selects them, and a provider on it.
type standIn struct {
	backend *awslocal.LocalBackend
	p       *Provider
	cp      string // the control plane's instance id
}

func newStandIn(t *testing.T, timeScale float64) *standIn {
	t.Helper()
	isolate(t)
	withCredentials(t)
	b := awslocal.NewLocalBackend(t.TempDir(), awslocal.Network{CIDR: "10.0.0.0/16", Zones: []string{"us-east-1a", "us-east-1b"}})
	tags := func(name, role string) map[string]string {
		return map[string]string{"Name": name, "kdrill/cluster": "drill", "kdrill/role": role}
	}
	cp := b.Add(awslocal.LocalMachine{Name: "cp", Zone: "us-east-1a", PrivateIP: "10.0.1.10", Tags: tags("cp", "control-plane")})
	b.Add(awslocal.LocalMachine{Name: "w1", Zone: "us-east-1b", PrivateIP: "10.0.2.11", Tags: tags("w1", "worker")})
	b.Add(awslocal.LocalMachine{Name: "w2", Zone: "us-east-1b", PrivateIP: "10.0.2.12", Tags: tags("w2", "worker")})
	srv, err := awslocal.New(awslocal.Options{Backend: b, Region: "us-east-1", AccessKeyID: "AKIDKDRILLTEST", SecretAccessKey: "kdrill-test-secret",
		S3Dir: t.TempDir(), TimeScale: timeScale})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close the stand-in: %v", err)
		}
	})
	p, err := Open(testContext(t), Options{Region: "us-east-1", Endpoint: hs.URL, Tags: map[string]string{"kdrill/cluster": "drill"}})
	if err != nil {
		t.Fatal(err)
	}
	p.pollMin, p.pollMax, p.statePoll = 10*time.Millisecond, 50*time.Millisecond, 10*time.Millisecond
	return &standIn{backend: b, p: p, cp: cp.ID}
}

// ops lists what the backend was asked to do to the control plane.
func (s *standIn) ops() []string {
	var out []string
	for _, e := range s.backend.Events() {
		if e.ID == s.cp && e.Op != "exec" {
			out = append(out, e.Op)
		}
	}
	return out
}

// within polls cond every interval until it holds or d passes.
func within(t *testing.T, d, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, d)
		}
		time.Sleep(interval)
	}
}

// TestCrashDrillAgainstStandIn is the AWS vm-shutdown drill in small: the
// seed's alarm, a guest crash, and a caller polling once a second that
// sees the alarm's firing in its history although the alarm is back to OK
// by the time it looks. 60 s alarm periods last half a second.
func TestCrashDrillAgainstStandIn(t *testing.T) {
	s := newStandIn(t, 120)
	p, ctx := s.p, testContext(t)
	const node = "ip-10-0-1-10.ec2.internal"
	name, err := p.EnsureStatusCheckAlarm(ctx, s.cp)
	if err != nil {
		t.Fatal(err)
	}
	// The audit finds the alarm the way it looks for it.
	alarms, err := p.statusAlarms(ctx, s.cp)
	if err != nil || len(alarms) != 1 || len(alarmMismatches(alarms[0], "us-east-1", s.cp)) != 0 {
		t.Fatalf("statusAlarms = %+v, %v", alarms, err)
	}
	within(t, 10*time.Second, 50*time.Millisecond, "OK while healthy", func() bool {
		state, _, _, err := p.AlarmState(ctx, name)
		return err == nil && state == "OK"
	})

	crashed := time.Now()
	if err := p.CrashNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	impaired, err := p.NodeImpaired(ctx, node)
	if err != nil || !impaired {
		t.Errorf("right after the crash: impaired %v, %v", impaired, err)
	}
	if running, err := p.NodeRunning(ctx, node); err != nil || !running {
		t.Errorf("right after the crash EC2 says running=%v (%v); a crash is not a stop", running, err)
	}

	// Poll as a drill would: once a second.
	var fired time.Time
	within(t, 15*time.Second, time.Second, "firing in the alarm history", func() bool {
		ok, at, err := p.AlarmFiredSince(ctx, name, crashed)
		if err != nil {
			t.Fatal(err)
		}
		fired = at
		return ok
	})
	if fired.Before(crashed.Truncate(time.Millisecond)) || fired.After(time.Now()) {
		t.Errorf("fired at %v, crashed at %v", fired, crashed)
	}
	within(t, 10*time.Second, time.Second, "the check to pass again", func() bool {
		impaired, err := p.NodeImpaired(ctx, node)
		return err == nil && !impaired
	})
	within(t, 10*time.Second, time.Second, "the alarm back to OK", func() bool {
		state, _, _, err := p.AlarmState(ctx, name)
		return err == nil && state == "OK"
	})
	state, reason, updated, err := p.AlarmState(ctx, name)
	if err != nil || state != "OK" || !updated.After(fired) || reason == "" {
		t.Errorf("AlarmState after the recovery = %s %q %v, %v; want OK after %v", state, reason, updated, err, fired)
	}
	if ops := s.ops(); !slices.Equal(ops, []string{"interrupt", "reboot"}) {
		t.Errorf("the control plane was asked %v, want the interrupt, then the alarm's reboot", ops)
	}
	// Nothing fired since.
	if ok, _, err := p.AlarmFiredSince(ctx, name, updated.Add(time.Millisecond)); err != nil || ok {
		t.Errorf("AlarmFiredSince the recovery = %v, %v", ok, err)
	}

	// The manual recovery goes through RebootInstances too.
	if err := p.RebootNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, 20*time.Millisecond, "the manual reboot", func() bool { return len(s.ops()) == 3 })
}

// TestReprovisionAgainstStandIn re-provisions the control plane from its
// AMI (DescribeImages, DescribeInstanceAttribute, RunInstances,
// CreateTags) and finds the new one listed under the old node name, and the
// old one retired.
func TestReprovisionAgainstStandIn(t *testing.T) {
	s := newStandIn(t, 0)
	p, ctx := s.p, testContext(t)
	pl, err := p.PlanReprovision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pl.ImageID != "ami-0123456789abcdef0" || pl.InstanceType != "t3.medium" || pl.Zone != "us-east-1b" || pl.Replaces != s.cp {
		t.Errorf("plan %+v", pl)
	}
	id, err := p.Reprovision(ctx, pl)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := p.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cps []harness.Node
	for _, n := range nodes {
		if n.Role == harness.RoleControlPlane {
			cps = append(cps, n)
		}
	}
	// The new instance keeps the node name; the retired one is not listed.
	if len(cps) != 1 || cps[0].Zone != "us-east-1b" || cps[0].Name != "ip-10-0-1-10.ec2.internal" {
		t.Fatalf("control planes after re-provisioning: %+v", cps)
	}
	if got, err := p.InstanceID(ctx, cps[0].Name); err != nil || got != id {
		t.Errorf("new control plane %s is instance %s (%v), want %s", cps[0].Name, got, err, id)
	}
}

// The account comes from STS, through the real SDK; the stand-in answers
// with its default account, and a wrong secret is the user's to fix.
func TestAccountAgainstStandIn(t *testing.T) {
	s := newStandIn(t, 1)
	acct, err := s.p.Account(testContext(t))
	if err != nil || acct != awslocal.DefaultAccountID {
		t.Fatalf("Account() = %q, %v; want %q", acct, err, awslocal.DefaultAccountID)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	bad, err := Open(testContext(t), Options{Region: "us-east-1", Endpoint: s.p.o.Endpoint, Tags: s.p.o.Tags})
	if err == nil {
		_, err = bad.Account(testContext(t))
	}
	var ue *UserError
	if !errors.As(err, &ue) {
		t.Fatalf("a wrong secret: got %v (%T), want a *UserError", err, err)
	}
}
