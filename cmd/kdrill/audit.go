package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/aws"
	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/etcdsnap"
	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/kind/nodeimage"
	"github.com/kdrill/kdrill/harness/results"
)

type auditOptions struct {
	config, provider, out string
	backupInterval        time.Duration
	// kind
	name, stateDir, backupDir string
	// aws
	awsTags                                []string
	awsRegion, awsEndpoint, awsProfile     string
	kubeconfig, backupBucket, backupPrefix string
	dryRun                                 bool
}

// The flags only one provider takes; given to the other, they are a
// mistake rather than silently ignored.
var (
	awsOnlyFlags  = []string{"aws-tag", "aws-region", "aws-endpoint", "aws-profile", "kubeconfig", "backup-bucket", "backup-prefix", "dry-run"}
	kindOnlyFlags = []string{"name", "state-dir", "backup-dir"}
)

// auditFailed means every check was made and at least one did not pass
// (exit 1).
type auditFailed struct{ names []string }

func (e *auditFailed) Error() string {
	return "audit failed: " + strings.Join(e.names, ", ")
}

func newAuditCmd() *cobra.Command {
	var o auditOptions
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check that the mitigations the drills rely on are in place, without injecting anything",
		Long: `Checks, before a game day, the seed's mitigations on a target and prints
one line per check, PASS or FAIL with the reason, then a summary:

  status-check-alarm          the status-check alarm that reboots the control plane
  etcd-on-persistent-volume   etcd's data outlives the control-plane machine
  etcd-backup-restorable      an etcd snapshot newer than the backup interval restores
  control-plane-zone          the control plane shares a zone with workers, or can be
                              re-provisioned into theirs

--provider aws reads the account through the AWS SDK (--aws-tag selects the
cluster's instances and is required); --provider kind checks the local
counterparts on a kind cluster. --config reads target.provider and
target.aws.* from a drill config file; flags given override it. --out DIR
also writes DIR/results.json, DIR/report.html and DIR/junit.xml.
Exit code 0 when every check passes, 1 when one does not, 2 on bad input.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAudit(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "drill config file, kdrill.yaml (docs/config.md): target.provider, target.aws.*, target.kubeconfig; flags given override it")
	f.StringVar(&o.provider, "provider", "", "aws or kind (default: the config's target.provider, else kind)")
	f.DurationVar(&o.backupInterval, "backup-interval", 0, "age beyond which the newest etcd snapshot is stale (default: 1h on aws; on kind the drills' backup interval, mitigations.backups.interval, 1m)")
	f.StringVar(&o.out, "out", "", "folder to write results.json, report.html and junit.xml to (default: none)")
	f.StringVar(&o.name, "name", kind.DefaultName, "kind: cluster name (target.name)")
	f.StringVar(&o.stateDir, "state-dir", kind.DefaultStateDir(), "kind: folder holding the clusters' kubeconfigs and etcd data")
	f.StringVar(&o.backupDir, "backup-dir", "", "kind: folder holding etcd snapshots (*.db); without it the backup check fails")
	f.StringArrayVar(&o.awsTags, "aws-tag", nil, "aws: key=value a cluster instance carries (repeatable; required; target.aws.tags)")
	f.StringVar(&o.awsRegion, "aws-region", "", "aws: region (target.aws.region; default AWS_REGION or the profile's)")
	f.StringVar(&o.awsEndpoint, "aws-endpoint", "", "aws: http(s) URL replacing every AWS endpoint, for a local stand-in (target.aws.endpoint)")
	f.StringVar(&o.awsProfile, "aws-profile", "", "aws: shared-config profile (target.aws.profile)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "aws: the cluster's admin kubeconfig (target.kubeconfig); checked to load")
	f.StringVar(&o.backupBucket, "backup-bucket", "", "aws: S3 bucket holding the etcd snapshots")
	f.StringVar(&o.backupPrefix, "backup-prefix", "", "aws: key prefix of the etcd snapshots in the bucket")
	f.BoolVar(&o.dryRun, "dry-run", false, "aws: print every mutating AWS call on standard error instead of making it (the audit's only one runs a read-only script on the control plane through SSM; its check then fails)")
	// harness/aws's messages name the bucket flag --aws-backup-bucket.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "aws-backup-bucket" {
			name = "backup-bucket"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

func runAudit(cmd *cobra.Command, o auditOptions) error {
	ctx := cmd.Context()
	f := cmd.Flags()
	// The run pattern: the config file (or the defaults), then every flag
	// given on top. drillConfig applies --name and --backup-interval.
	cfg, err := drillConfig(cmd, runOptions{config: o.config, name: o.name, backupEvery: o.backupInterval})
	if err != nil {
		return err
	}
	if f.Changed("provider") {
		if o.provider != config.Kind && o.provider != config.AWS {
			return &usageError{fmt.Sprintf("--provider %q: want aws or kind", o.provider)}
		}
		if o.provider != cfg.Target.Provider {
			// The config's target is another provider's: none of it applies.
			cfg.Target = config.Target{Provider: o.provider, Name: config.DefaultName}
			if f.Changed("name") {
				cfg.Target.Name = o.name
			}
		}
	}
	provider := cfg.Target.Provider
	wrong := kindOnlyFlags
	if provider == config.Kind {
		wrong = awsOnlyFlags
	}
	for _, name := range wrong {
		if f.Changed(name) {
			return &usageError{fmt.Sprintf("--%s is not for --provider %s", name, provider)}
		}
	}

	file := &results.File{Schema: results.Schema, Scenarios: []results.Scenario{},
		Run: results.Run{KdrillVersion: version, Provider: provider, Start: time.Now()}}
	var audit *results.Audit
	switch provider {
	case config.AWS:
		opts, err := awsAuditOptions(cmd, o, cfg)
		if err != nil {
			return err
		}
		audit, err = auditAWS(ctx, opts)
		if err != nil {
			return err
		}
	default:
		if f.Changed("name") {
			if err := config.ValidName(config.Kind, cfg.Target.Name); err != nil {
				return &usageError{fmt.Sprintf("--name: %v", err)}
			}
		}
		file.Run.KubernetesVersion = nodeimage.DefaultKubernetesVersion
		audit, err = auditKind(ctx, cfg, o.stateDir, o.backupDir)
		if err != nil {
			return err
		}
	}
	file.Run.End = time.Now()
	file.Audit = audit

	printAudit(cmd.OutOrStdout(), audit)
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return fmt.Errorf("create output folder: %w", err)
		}
		if err := writeOutputs(o.out, file); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "results: %s\nreport:  %s\n", filepath.Join(o.out, "results.json"), filepath.Join(o.out, "report.html"))
	}
	if failed := audit.Failed(); len(failed) > 0 {
		return &auditFailed{failed}
	}
	return nil
}

// printAudit writes one line per check, then the summary.
func printAudit(w io.Writer, a *results.Audit) {
	for _, c := range a.Checks {
		verdict := "PASS"
		if !c.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: %s\n", verdict, c.Name, strings.Join(strings.Fields(c.Reason), " "))
	}
	failed := a.Failed()
	fmt.Fprintf(w, "audit of %s: %d of %d checks passed", a.Target, len(a.Checks)-len(failed), len(a.Checks))
	if len(failed) > 0 {
		fmt.Fprintf(w, "; failed: %s", strings.Join(failed, ", "))
	}
	fmt.Fprintln(w)
}

// awsAuditOptions makes the provider's options from the config's target
// and the flags given, which override it.
func awsAuditOptions(cmd *cobra.Command, o auditOptions, cfg *config.Config) (aws.Options, error) {
	f := cmd.Flags()
	t := cfg.Target
	opts := aws.Options{
		Region:       t.AWS.Region,
		Endpoint:     t.AWS.Endpoint,
		Profile:      t.AWS.Profile,
		Tags:         t.AWS.Tags,
		Kubeconfig:   t.Kubeconfig,
		BackupBucket: o.backupBucket,
		BackupPrefix: o.backupPrefix,
		DryRun:       o.dryRun,
		DryRunOut:    cmd.ErrOrStderr(),
	}
	if f.Changed("backup-interval") {
		opts.BackupInterval = o.backupInterval // else the provider's default
	}
	if f.Changed("aws-tag") {
		tags, err := parseTags(o.awsTags)
		if err != nil {
			return opts, err
		}
		opts.Tags = tags
	}
	if f.Changed("aws-region") {
		opts.Region = o.awsRegion
	}
	if f.Changed("aws-endpoint") {
		u, err := url.Parse(o.awsEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return opts, &usageError{fmt.Sprintf("--aws-endpoint %q: want an http(s) URL such as http://127.0.0.1:4566", o.awsEndpoint)}
		}
		opts.Endpoint = o.awsEndpoint
	}
	if f.Changed("aws-profile") {
		opts.Profile = o.awsProfile
	}
	if f.Changed("kubeconfig") {
		opts.Kubeconfig = o.kubeconfig
	}
	return opts, nil
}

// parseTags reads --aws-tag key=value flags. An empty key is left for the
// provider to refuse, in its own words.
func parseTags(flags []string) (map[string]string, error) {
	tags := map[string]string{}
	for _, s := range flags {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, &usageError{fmt.Sprintf("--aws-tag %q: want key=value", s)}
		}
		if old, dup := tags[k]; dup && old != v {
			return nil, &usageError{fmt.Sprintf("--aws-tag %s given twice, as %q and %q: no instance carries both", k, old, v)}
		}
		tags[k] = v
	}
	return tags, nil
}

// auditAWS opens the provider, which refuses a missing selector, a bad
// region or missing credentials with an *aws.UserError, and runs its audit.
func auditAWS(ctx context.Context, opts aws.Options) (*results.Audit, error) {
	p, err := aws.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	a := &results.Audit{
		Target: fmt.Sprintf("AWS instances tagged %s in %s", selector(opts.Tags), p.Region()),
		Time:   time.Now(),
	}
	for _, c := range p.Audit(ctx) {
		a.Checks = append(a.Checks, results.AuditCheck{Name: c.Name, Pass: c.Pass, Reason: c.Reason})
	}
	return a, nil
}

// selector writes tags as key=value pairs, sorted.
func selector(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + tags[k]
	}
	return strings.Join(keys, ",")
}

// auditKind makes the AWS audit's checks on a kind cluster, each against
// the local counterpart of the AWS mitigation. Reading the cluster needs
// Docker; no check changes anything.
func auditKind(ctx context.Context, cfg *config.Config, stateDir, backupDir string) (*results.Audit, error) {
	c, err := kind.Get(ctx, kind.Options{Name: cfg.Target.Name, StateDir: stateDir})
	if err != nil {
		return nil, err
	}
	a := &results.Audit{Target: fmt.Sprintf("kind cluster %q", c.Name), Time: time.Now()}
	mounts, err := containerMounts(ctx, c.ControlPlane())
	etcdCheck := results.AuditCheck{Name: aws.CheckEtcdVolume, Reason: fmt.Sprintf("could not read the mounts of %s: %v", c.ControlPlane(), err)}
	if err == nil {
		etcdCheck = etcdMountCheck(c.ControlPlane(), mounts, os.Stat)
	}
	nodes, err := c.Nodes(ctx)
	zone := results.AuditCheck{Name: aws.CheckZone, Reason: fmt.Sprintf("could not list the nodes: %v", err)}
	if err == nil {
		zone = zoneCheck(nodes, cfg.Mitigations.Reprovision.Enabled)
	}
	a.Checks = []results.AuditCheck{
		watchdogCheck(cfg.Mitigations.Watchdog),
		etcdCheck,
		backupCheck(ctx, backupDir, cfg.Mitigations.Backups.Interval, time.Now()),
		zone,
	}
	return a, nil
}

// watchdogCheck is the kind counterpart of the status-check alarm. kind
// has no CloudWatch: kdrill's own watchdog plays the alarm, and only while
// kdrill drills vm-shutdown. The reason says so rather than pretend a
// standing alarm exists.
func watchdogCheck(w config.Watchdog) results.AuditCheck {
	c := results.AuditCheck{Name: aws.CheckStatusAlarm}
	rule := fmt.Sprintf("a check every %s, a reboot after %d of %d failed", w.Period, w.Datapoints, w.Evaluation)
	if !w.Enabled {
		c.Reason = fmt.Sprintf("kind has no CloudWatch alarm; its counterpart, kdrill's status-check watchdog (%s), is switched off (mitigations.watchdog.enabled: false)", rule)
		return c
	}
	c.Pass = true
	c.Reason = fmt.Sprintf("kind has no CloudWatch alarm; the local counterpart is kdrill's own status-check watchdog (%s), which runs during kdrill's vm-shutdown drill only: nothing watches the control plane between drills", rule)
	return c
}

// etcdDataDir is where kubeadm's etcd keeps its data in a kind node.
const etcdDataDir = "/var/lib/etcd"

// dockerMount is one entry of docker inspect's .Mounts.
type dockerMount struct {
	Type        string
	Name        string
	Source      string
	Destination string
}

// containerMounts asks Docker how a container's folders are mounted.
func containerMounts(ctx context.Context, container string) ([]dockerMount, error) {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{json .Mounts}}", container).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return nil, fmt.Errorf("docker inspect %s: %w: %s", container, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("docker inspect %s: %w", container, err)
	}
	var ms []dockerMount
	if err := json.Unmarshal(out, &ms); err != nil {
		return nil, fmt.Errorf("parse the mounts of %s: %w", container, err)
	}
	return ms, nil
}

// etcdMountCheck is the kind counterpart of etcd's data on a kept EBS
// volume: the control-plane container's etcd data directory is a bind
// mount of a host folder, which outlives the container (a Docker volume
// of kind's is removed with it, and the container's own layer with it).
func etcdMountCheck(container string, mounts []dockerMount, stat func(string) (os.FileInfo, error)) results.AuditCheck {
	c := results.AuditCheck{Name: aws.CheckEtcdVolume}
	// The mount that holds the data directory: the deepest one above it.
	var m *dockerMount
	for i := range mounts {
		d := strings.TrimSuffix(mounts[i].Destination, "/")
		if d == etcdDataDir || strings.HasPrefix(etcdDataDir, d+"/") || d == "" {
			if m == nil || len(d) > len(strings.TrimSuffix(m.Destination, "/")) {
				m = &mounts[i]
			}
		}
	}
	switch {
	case m == nil:
		c.Reason = fmt.Sprintf("etcd's data directory %s is in %s's own file system, which is gone with the container", etcdDataDir, container)
	case m.Type == "bind":
		if st, err := stat(m.Source); err != nil || !st.IsDir() {
			c.Reason = fmt.Sprintf("etcd's data directory %s is bind-mounted from host folder %s, which is not there", etcdDataDir, m.Source)
			return c
		}
		c.Pass = true
		c.Reason = fmt.Sprintf("etcd's data directory %s is bind-mounted from host folder %s (at %s in %s), which outlives the node container", etcdDataDir, m.Source, m.Destination, container)
	default:
		what := m.Type
		if m.Name != "" {
			what += " " + m.Name
		}
		c.Reason = fmt.Sprintf("etcd's data directory %s is on Docker %s (at %s in %s), not a host folder: removing the node container removes it", etcdDataDir, what, m.Destination, container)
	}
	return c
}

// backupCheck is the kind counterpart of the S3 snapshot check: the
// newest snapshot (by modification time) in dir is at most interval old
// and restores, into a scratch folder, to a store holding keys.
func backupCheck(ctx context.Context, dir string, interval time.Duration, now time.Time) results.AuditCheck {
	c := results.AuditCheck{Name: aws.CheckEtcdBackup}
	if dir == "" {
		c.Reason = "no backup folder given: pass --backup-dir, the folder the etcd snapshots (*.db) are written to"
		return c
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		c.Reason = fmt.Sprintf("backup folder %s does not exist", dir)
		return c
	}
	path, mod, err := newestSnapshot(dir)
	if err != nil {
		c.Reason = err.Error()
		return c
	}
	age := max(now.Sub(mod), 0)
	if age > interval {
		c.Reason = fmt.Sprintf("the newest snapshot, %s, is %s old: older than the backup interval %s", path, age.Round(time.Second), interval)
		return c
	}
	scratch, err := os.MkdirTemp("", "kdrill-audit-")
	if err != nil {
		c.Reason = fmt.Sprintf("could not make a scratch folder: %v", err)
		return c
	}
	defer os.RemoveAll(scratch)
	info, err := etcdsnap.Restore(ctx, path, etcdsnap.RestoreOptions{DataDir: filepath.Join(scratch, "restored")})
	switch {
	case err != nil:
		c.Reason = fmt.Sprintf("the newest snapshot, %s, does not restore: %v", path, err)
	case info.TotalKeys == 0:
		c.Reason = fmt.Sprintf("the newest snapshot, %s, restores to an empty store (revision %d, no keys)", path, info.Revision)
	default:
		c.Pass = true
		c.Reason = fmt.Sprintf("the newest snapshot, %s, is %s old (interval %s) and restores: revision %d, %d keys",
			path, age.Round(time.Second), interval, info.Revision, info.TotalKeys)
	}
	return c
}

// newestSnapshot finds the most recently written *.db file in dir.
func newestSnapshot(dir string) (string, time.Time, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		return "", time.Time{}, err
	}
	var best string
	var bestMod time.Time
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if best == "" || st.ModTime().After(bestMod) {
			best, bestMod = m, st.ModTime()
		}
	}
	if best == "" {
		return "", time.Time{}, fmt.Errorf("no etcd snapshot (*.db) in backup folder %s", dir)
	}
	return best, bestMod, nil
}

// zoneCheck is the control plane's zone relative to the workers': the
// seed's option 2 (a zone with workers) or option 1, which on kind is the
// re-provisioning kdrill does in its network-partition drill.
func zoneCheck(nodes []harness.Node, reprovision bool) results.AuditCheck {
	c := results.AuditCheck{Name: aws.CheckZone}
	cps := harness.ByRole(nodes, harness.RoleControlPlane)
	workers := harness.ByRole(nodes, harness.RoleWorker)
	switch {
	case len(cps) == 0:
		c.Reason = "the cluster has no control-plane node"
		return c
	case len(workers) == 0:
		c.Reason = "the cluster has no worker: nothing to compare the control plane's zone with"
		return c
	}
	cp := cps[0]
	zones := map[string][]string{}
	for _, w := range workers {
		zones[w.Zone] = append(zones[w.Zone], w.Name)
	}
	if same := zones[cp.Zone]; len(same) > 0 {
		c.Pass = true
		c.Reason = fmt.Sprintf("option 2: the control plane shares zone %s with workers %s", cp.Zone, strings.Join(same, ", "))
		return c
	}
	wz := make([]string, 0, len(zones))
	for z := range zones {
		wz = append(wz, z)
	}
	slices.Sort(wz)
	where := fmt.Sprintf("the control plane is in %s and the workers in %s", cp.Zone, strings.Join(wz, ", "))
	if !reprovision {
		c.Reason = where + ", and re-provisioning is switched off (mitigations.reprovision.enabled: false)"
		return c
	}
	c.Pass = true
	c.Reason = "option 1: " + where + "; kdrill re-provisions the control plane into the workers' zone from an etcd backup, in its network-partition drill only"
	return c
}
