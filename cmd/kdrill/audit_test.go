package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"go.etcd.io/etcd/server/v3/lease"
	"go.etcd.io/etcd/server/v3/storage/backend"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.uber.org/zap"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/aws"
	"github.com/kdrill/kdrill/harness/aws/awslocal"
	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/results"
)

// awsEnv is an AWS environment of the test's own for a kdrill process:
// empty config and credentials files, no AWS_* variables of the machine,
// no instance metadata service, and the given extra variables.
func awsEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		// No Docker engine: an audit that reached for one would say so.
		"DOCKER_HOST=unix://"+filepath.Join(dir, "no-such.sock"),
	)
	return append(env, extra...)
}

// runKdrill runs the binary and returns its exit code, stdout and stderr.
func runKdrill(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(kdrill, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestAuditBadInput: mistakes get one error line and exit code 2, before
// anything is asked of AWS or Docker.
func TestAuditBadInput(t *testing.T) {
	dir := t.TempDir()
	awsConfig := filepath.Join(dir, "aws.yaml")
	write(t, awsConfig, "target:\n  provider: aws\n  name: lab\n  aws: {account_id: \"123456789012\", region: eu-west-1}\n")
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error line
	}{
		{"no --aws-tag", []string{"--provider", "aws", "--aws-region", "us-east-1"},
			[]string{"no --aws-tag selector: kdrill never acts on all instances"}},
		{"no tags in the config either", []string{"--config", awsConfig},
			[]string{"no --aws-tag selector"}},
		{"bad region", []string{"--provider", "aws", "--aws-tag", "kdrill/cluster=lab", "--aws-region", "moon-base"},
			[]string{`AWS region "moon-base" is not a region name`}},
		{"bad region over the config's", []string{"--config", awsConfig, "--aws-tag", "kdrill/cluster=lab", "--aws-region", "Mars"},
			[]string{`AWS region "Mars"`}},
		{"no credentials", []string{"--provider", "aws", "--aws-tag", "kdrill/cluster=lab", "--aws-region", "us-east-1"},
			[]string{"no AWS credentials found"}},
		{"unknown provider", []string{"--provider", "nope"}, []string{`--provider "nope": want aws or kind`}},
		{"tag without a value", []string{"--provider", "aws", "--aws-tag", "kdrill/cluster"}, []string{`--aws-tag "kdrill/cluster": want key=value`}},
		{"tag given twice", []string{"--provider", "aws", "--aws-tag", "a=1", "--aws-tag", "a=2"}, []string{"--aws-tag a given twice"}},
		{"bad endpoint", []string{"--provider", "aws", "--aws-tag", "a=1", "--aws-endpoint", "localhost:4566"}, []string{`--aws-endpoint "localhost:4566"`}},
		{"aws flag on kind", []string{"--provider", "kind", "--aws-tag", "a=1"}, []string{"--aws-tag is not for --provider kind"}},
		{"kind flag on aws", []string{"--provider", "aws", "--aws-tag", "a=1", "--backup-dir", dir}, []string{"--backup-dir is not for --provider aws"}},
		{"short backup interval", []string{"--backup-interval", "1s"}, []string{"--backup-interval 1s is below 5s"}},
		{"kind without Docker", []string{"--provider", "kind", "--backup-dir", dir}, []string{"no Docker engine answers"}},
		{"stray argument", []string{"now"}, []string{"takes no arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runKdrill(t, awsEnv(t), append([]string{"audit"}, tt.args...)...)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			line := strings.TrimSpace(stderr)
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "kdrill: ") {
				t.Errorf("want one error line, got:\n%s", line)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q lacks %q", line, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing: no check was made", stdout)
			}
		})
	}
}

// Credentials the stand-in accepts; not a real account's.
const (
	localKey    = "AKIAKDRILLAUDITTEST1"
	localSecret = "kdrill-audit-test-secret"
	localRegion = "us-east-1"
)

// TestAuditAWS runs 'kdrill audit --provider aws' end to end against the
// local AWS stand-in, through the real SDK: with the alarm missing and no
// snapshot, then with the seed's alarm and a fresh snapshot, then with the
// alarm's threshold wrong and the snapshot stale. The etcd volume check
// runs its script on this machine (the stand-in's machines are pretend
// ones), so only its presence is checked.
func TestAuditAWS(t *testing.T) {
	backend := awslocal.NewLocalBackend(t.TempDir(), awslocal.Network{CIDR: "10.0.0.0/16", Zones: []string{"us-east-1a", "us-east-1b"}})
	tags := func(role string) map[string]string {
		return map[string]string{"kdrill/cluster": "audit", "kdrill/role": role}
	}
	cp := backend.Add(awslocal.LocalMachine{Name: "cp", Zone: "us-east-1a", PrivateIP: "10.0.1.10", Tags: tags("control-plane"),
		Volumes: []awslocal.Volume{{ID: "vol-00000000000000001", Device: "/dev/xvda", SizeGiB: 8, DeleteOnTermination: true}}})
	backend.Add(awslocal.LocalMachine{Name: "w1", Zone: "us-east-1a", PrivateIP: "10.0.1.11", Tags: tags("worker")})
	backend.Add(awslocal.LocalMachine{Name: "w2", Zone: "us-east-1b", PrivateIP: "10.0.2.11", Tags: tags("worker")})
	backend.Add(awslocal.LocalMachine{Name: "other", Zone: "us-east-1b", PrivateIP: "10.0.2.99",
		Tags: map[string]string{"kdrill/cluster": "another", "kdrill/role": "control-plane"}})
	s3Dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(s3Dir, "etcd-backups"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := awslocal.New(awslocal.Options{Backend: backend, Region: localRegion, AccessKeyID: localKey, SecretAccessKey: localSecret, S3Dir: s3Dir})
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

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cw := cloudwatch.NewFromConfig(awssdk.Config{Region: localRegion,
		Credentials: awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
			return awssdk.Credentials{AccessKeyID: localKey, SecretAccessKey: localSecret}, nil
		})}, func(o *cloudwatch.Options) { o.BaseEndpoint = awssdk.String(hs.URL) })
	// The provider's alarm check starts with DescribeAlarmsForMetric. A
	// stand-in without it fails that check for that reason, which is all
	// this test can then see of it (harness/aws's own tests cover the
	// alarm's every setting against a fake).
	_, err = cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{
		Namespace: awssdk.String("AWS/EC2"), MetricName: awssdk.String("StatusCheckFailed_Instance")})
	alarmsForMetric := err == nil
	if !alarmsForMetric {
		t.Logf("the stand-in does not answer DescribeAlarmsForMetric (%v): the alarm check is only seen to fail", err)
	}
	alarmWant := func(w string) string {
		if alarmsForMetric {
			return w
		}
		return "FAIL could not read the alarms: describe the alarms on StatusCheckFailed_Instance of " + cp.ID
	}

	env := awsEnv(t, "AWS_ACCESS_KEY_ID="+localKey, "AWS_SECRET_ACCESS_KEY="+localSecret)
	out := t.TempDir()
	args := []string{"audit", "--provider", "aws", "--aws-tag", "kdrill/cluster=audit", "--aws-region", localRegion,
		"--aws-endpoint", hs.URL, "--aws-backup-bucket", "etcd-backups", "--backup-prefix", "snapshots", "--out", out}

	audit := func(t *testing.T, want map[string]string, extra ...string) *results.File {
		t.Helper()
		code, stdout, stderr := runKdrill(t, env, append(args, extra...)...)
		failing := 0
		for name, w := range want {
			if strings.HasPrefix(w, "FAIL") {
				failing++
			}
			found := false
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(l, w[:4]+" "+name+": ") {
					found = true
					if !strings.Contains(l, w[5:]) {
						t.Errorf("line %q lacks %q", l, w[5:])
					}
				}
			}
			if !found {
				t.Errorf("no %s line for %s in:\n%s", w[:4], name, stdout)
			}
		}
		if !strings.Contains(stdout, "audit of AWS instances tagged kdrill/cluster=audit in us-east-1: ") {
			t.Errorf("no summary line in:\n%s", stdout)
		}
		if code == exitOK && failing > 0 || code != exitOK && code != exitFailed {
			t.Errorf("exit code %d with %d failing checks expected; stderr:\n%s", code, failing, stderr)
		}
		if code == exitFailed && (strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "kdrill: audit failed: ")) {
			t.Errorf("stderr %q, want one line naming the failed checks", stderr)
		}
		f, err := results.Read(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Run.Provider != "aws" || f.Audit == nil || len(f.Audit.Checks) != 4 || f.Audit.Time.IsZero() {
			t.Fatalf("results file: provider %q audit %+v", f.Run.Provider, f.Audit)
		}
		for _, c := range f.Audit.Checks {
			if w, ok := want[c.Name]; ok && c.Pass != strings.HasPrefix(w, "PASS") {
				t.Errorf("results file: %s pass=%v, want %s", c.Name, c.Pass, w[:4])
			}
		}
		page, _ := os.ReadFile(filepath.Join(out, "report.html"))
		for _, c := range f.Audit.Checks {
			if !bytes.Contains(page, []byte(`data-check="`+c.Name+`"`)) {
				t.Errorf("report.html does not show check %s", c.Name)
			}
		}
		junit, _ := os.ReadFile(filepath.Join(out, "junit.xml"))
		var doc struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testsuite>testcase"`
		}
		if err := xml.Unmarshal(junit, &doc); err != nil || len(doc.Cases) != 4 {
			t.Errorf("junit.xml: %v, %d testcases, want 4", err, len(doc.Cases))
		}
		return f
	}

	t.Run("alarm missing, no snapshot", func(t *testing.T) {
		f := audit(t, map[string]string{
			aws.CheckStatusAlarm: alarmWant("FAIL no CloudWatch alarm on AWS/EC2 StatusCheckFailed_Instance of " + cp.ID),
			aws.CheckEtcdBackup:  "FAIL ",
			aws.CheckZone:        "PASS option 2: the control plane shares zone us-east-1a with workers",
		})
		if names := f.Audit.Failed(); len(names) < 2 {
			t.Errorf("failed checks %v", names)
		}
	})

	// What an operator would have set up: the seed's alarm, a snapshot.
	// The same environment for this process, which opens the provider too.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	p, err := aws.Open(ctx, aws.Options{Region: localRegion, Endpoint: hs.URL, Tags: map[string]string{"kdrill/cluster": "audit"},
		BackupBucket: "etcd-backups", BackupPrefix: "snapshots/"})
	if err != nil {
		t.Fatal(err)
	}
	alarm, err := p.EnsureStatusCheckAlarm(ctx, cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	store, err := p.Snapshots()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := store.Upload(ctx, makeSnapshot(t, t.TempDir(), 7))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("seed's alarm, fresh snapshot", func(t *testing.T) {
		f := audit(t, map[string]string{
			aws.CheckStatusAlarm: alarmWant("PASS alarm " + alarm + " reboots " + cp.ID),
			aws.CheckEtcdBackup:  "PASS and restores: revision",
		})
		for _, c := range f.Audit.Checks {
			if c.Name == aws.CheckEtcdBackup && !strings.HasSuffix(c.Reason, ", 7 keys") {
				t.Errorf("restored snapshot: %q, want its 7 keys", c.Reason)
			}
		}
	})

	t.Run("threshold wrong, snapshot stale", func(t *testing.T) {
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: awssdk.String(alarm), Namespace: awssdk.String("AWS/EC2"), MetricName: awssdk.String("StatusCheckFailed_Instance"),
			Dimensions: []cwtypes.Dimension{{Name: awssdk.String("InstanceId"), Value: awssdk.String(cp.ID)}},
			Statistic:  cwtypes.StatisticMaximum, Period: awssdk.Int32(60), EvaluationPeriods: awssdk.Int32(2), DatapointsToAlarm: awssdk.Int32(2),
			Threshold: awssdk.Float64(2), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
			ActionsEnabled: awssdk.Bool(true), AlarmActions: []string{"arn:aws:automate:" + localRegion + ":ec2:reboot"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// S3's LastModified here is the object file's modification time.
		old := time.Now().Add(-3 * time.Hour)
		if err := os.Chtimes(filepath.Join(s3Dir, "etcd-backups", filepath.FromSlash(snap.Key)), old, old); err != nil {
			t.Fatal(err)
		}
		audit(t, map[string]string{
			aws.CheckStatusAlarm: alarmWant("FAIL threshold is 2, want 1"),
			aws.CheckEtcdBackup:  "FAIL older than the backup interval 2h0m0s",
		}, "--backup-interval", "2h")
	})
}

// makeSnapshot writes a snapshot of a store holding n keys to dir, as an
// etcd member streams one: its backend's database with the sha256 of it
// appended. etcd's own store and backend make it, in the process.
func makeSnapshot(t *testing.T, dir string, n int) string {
	t.Helper()
	be := backend.NewDefaultBackend(zap.NewNop(), filepath.Join(t.TempDir(), "db"))
	s := mvcc.NewStore(zap.NewNop(), be, &lease.FakeLessor{}, mvcc.StoreConfig{})
	for i := range n {
		s.Put(fmt.Appendf(nil, "/registry/configmaps/kdrill/c%d", i), []byte("v"), lease.NoLease)
	}
	be.ForceCommit()
	var buf bytes.Buffer
	snap := be.Snapshot()
	_, err := snap.WriteTo(&buf)
	snap.Close()
	s.Close()
	be.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	path := filepath.Join(dir, fmt.Sprintf("%d.db", time.Now().UnixNano()))
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBackupCheck: the kind backup check on snapshot files in a folder.
func TestBackupCheck(t *testing.T) {
	now := time.Now()
	setAge := func(t *testing.T, path string, age time.Duration) {
		if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // the folder to pass
		pass  bool
		want  string
	}{
		{"no folder given", func(*testing.T, string) string { return "" }, false, "no backup folder given"},
		{"folder missing", func(_ *testing.T, dir string) string { return filepath.Join(dir, "gone") }, false, "gone does not exist"},
		{"no snapshot", func(t *testing.T, dir string) string {
			write(t, filepath.Join(dir, "notes.txt"), "not a snapshot")
			return dir
		}, false, "no etcd snapshot (*.db) in backup folder"},
		{"stale", func(t *testing.T, dir string) string {
			setAge(t, makeSnapshot(t, dir, 3), 2*time.Minute)
			return dir
		}, false, "is 2m0s old: older than the backup interval 1m0s"},
		{"newest is corrupt", func(t *testing.T, dir string) string {
			setAge(t, makeSnapshot(t, dir, 3), 30*time.Second)
			write(t, filepath.Join(dir, "0-newer.db"), "half a snapshot")
			return dir
		}, false, "0-newer.db, does not restore"},
		{"fresh and restores", func(t *testing.T, dir string) string {
			setAge(t, makeSnapshot(t, dir, 2), 50*time.Second) // older, fewer keys
			setAge(t, makeSnapshot(t, dir, 5), 10*time.Second)
			return dir
		}, true, "is 10s old (interval 1m0s) and restores: revision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			c := backupCheck(context.Background(), dir, time.Minute, now)
			if c.Name != aws.CheckEtcdBackup || c.Pass != tt.pass || !strings.Contains(c.Reason, tt.want) {
				t.Errorf("backupCheck() = %+v, want pass=%v and a reason containing %q", c, tt.pass, tt.want)
			}
			if tt.pass && !strings.HasSuffix(c.Reason, ", 5 keys") {
				t.Errorf("backupCheck() restored %q, want the newest snapshot's 5 keys", c.Reason)
			}
		})
	}
}

// TestEtcdMountCheck: etcd's data survives the kind node container only on
// a bind mount of a host folder.
func TestEtcdMountCheck(t *testing.T) {
	host := t.TempDir()
	varVolume := dockerMount{Type: "volume", Name: "3f9a", Source: "/var/lib/docker/volumes/3f9a/_data", Destination: "/var"}
	modules := dockerMount{Type: "bind", Source: "/lib/modules", Destination: "/lib/modules"}
	tests := []struct {
		name   string
		mounts []dockerMount
		pass   bool
		want   string
	}{
		{"bind mount of a host folder", []dockerMount{varVolume, modules, {Type: "bind", Source: host, Destination: "/var/lib/etcd"}}, true,
			"bind-mounted from host folder " + host},
		{"host folder gone", []dockerMount{{Type: "bind", Source: filepath.Join(host, "gone"), Destination: "/var/lib/etcd"}}, false, "which is not there"},
		{"kind's /var volume", []dockerMount{modules, varVolume}, false, "on Docker volume 3f9a (at /var in lab-control-plane), not a host folder"},
		{"nothing mounted", []dockerMount{modules}, false, "in lab-control-plane's own file system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := etcdMountCheck("lab-control-plane", tt.mounts, func(p string) (fs.FileInfo, error) { return os.Stat(p) })
			if c.Name != aws.CheckEtcdVolume || c.Pass != tt.pass || !strings.Contains(c.Reason, tt.want) {
				t.Errorf("etcdMountCheck() = %+v, want pass=%v and a reason containing %q", c, tt.pass, tt.want)
			}
		})
	}
}

func TestZoneCheck(t *testing.T) {
	cp := harness.Node{Name: "lab-control-plane", Role: harness.RoleControlPlane, Zone: "zone-a"}
	w1 := harness.Node{Name: "lab-worker", Role: harness.RoleWorker, Zone: "zone-b"}
	w2 := harness.Node{Name: "lab-worker2", Role: harness.RoleWorker, Zone: "zone-b"}
	moved := cp
	moved.Zone = "zone-b"
	tests := []struct {
		name        string
		nodes       []harness.Node
		reprovision bool
		pass        bool
		want        string
	}{
		{"kdrill's topology", []harness.Node{cp, w1, w2}, true, true, "option 1: the control plane is in zone-a and the workers in zone-b; kdrill re-provisions"},
		{"re-provisioning off", []harness.Node{cp, w1, w2}, false, false, "re-provisioning is switched off"},
		{"re-provisioned", []harness.Node{moved, w1, w2}, false, true, "option 2: the control plane shares zone zone-b with workers lab-worker, lab-worker2"},
		{"no worker", []harness.Node{cp}, true, false, "no worker"},
		{"no control plane", []harness.Node{w1}, true, false, "no control-plane node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := zoneCheck(tt.nodes, tt.reprovision)
			if c.Name != aws.CheckZone || c.Pass != tt.pass || !strings.Contains(c.Reason, tt.want) {
				t.Errorf("zoneCheck() = %+v, want pass=%v and a reason containing %q", c, tt.pass, tt.want)
			}
		})
	}
}

// TestWatchdogCheck: on kind the alarm's counterpart is kdrill's own
// watchdog, and the reason says it only runs during drills.
func TestWatchdogCheck(t *testing.T) {
	w := config.Default().Mitigations.Watchdog
	c := watchdogCheck(w)
	if c.Name != aws.CheckStatusAlarm || !c.Pass || !strings.Contains(c.Reason, "kdrill's own status-check watchdog (a check every 1m0s, a reboot after 2 of 2 failed)") ||
		!strings.Contains(c.Reason, "nothing watches the control plane between drills") {
		t.Errorf("watchdogCheck(default) = %+v", c)
	}
	w.Enabled = false
	if c := watchdogCheck(w); c.Pass || !strings.Contains(c.Reason, "switched off") {
		t.Errorf("watchdogCheck(off) = %+v", c)
	}
}
