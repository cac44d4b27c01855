package config

import (
	"time"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/slo"
)

// The providers a target can have.
const (
	Kind = "kind"
	AWS  = "aws"
)

// FileName is the usual name of a drill config file.
const FileName = "kdrill.yaml"

// DefaultName is the target's name when none is given: the name of the
// cluster 'kdrill cluster up' makes.
const DefaultName = "kdrill"

// Limits the file and the flags share.
const (
	MinWatchdogPeriod = time.Second
	MinBackupInterval = 5 * time.Second
	MaxDataPlaneRate  = 1000
	MaxDebounce       = 100
)

// Config is a drill config: what to drill, how, and where. The zero value
// is not useful; start from Default.
type Config struct {
	// File is where the config was read from; empty for Default.
	File   string
	Target Target
	// Allow lists the targets this config may act on besides kind clusters
	// kdrill created; see Guard.
	Allow []Allow
	// Scenarios to drill, in order; nil means all of them.
	Scenarios []Scenario
	// SLO overrides the built-in SLOs; nil keeps them.
	SLO         *slo.Config
	Mitigations Mitigations
	Probes      Probes

	// lines maps a field's dotted path to the line of its key, for errors
	// found after the whole file is read.
	lines map[string]int
}

// Target is what kdrill drills.
type Target struct {
	Provider string // Kind or AWS
	// Name is the kind cluster's name, or the AWS cluster's name: what a
	// person confirming a run must type.
	Name string
	// KubeContext and Kubeconfig reach an AWS target's API server; kind
	// targets are reached through the kubeconfig kdrill keeps for them.
	KubeContext string
	Kubeconfig  string
	// WorkloadURL is where an AWS target's probed workload answers HTTP
	// GETs from the machine running kdrill; kind targets publish theirs.
	WorkloadURL string
	AWS         AWSTarget
}

// AWSTarget says where an AWS target lives.
type AWSTarget struct {
	// AccountID is the 12-digit account the target must be in; the guard
	// checks it against the allow-list.
	AccountID string
	Region    string
	// Endpoint replaces the AWS endpoints (a local emulator); empty for AWS.
	Endpoint string
	Profile  string
	// Tags select the target's instances.
	Tags map[string]string
	// BackupBucket and BackupPrefix are where etcd's snapshots go in S3,
	// for the drills that take backups.
	BackupBucket, BackupPrefix string
}

// Allow is one entry of the allow-list: a kind cluster, a kube context or
// an AWS account, written "kind:NAME", "context:NAME" or "aws:ACCOUNT_ID".
type Allow struct {
	Kind string // "kind", "context" or "aws"
	Name string
	Line int // where the entry is, for messages
}

func (a Allow) String() string { return a.Kind + ":" + a.Name }

// Scenario is one scenario to drill with its parameters.
type Scenario struct {
	ID string
	// Force makes vm-shutdown cut the power (kill the machine) rather than
	// stop it cleanly. Only vm-shutdown takes it.
	Force bool
}

// Mitigations switch each mitigation on or off and tune it.
type Mitigations struct {
	// Restarts is the kubelet restarting static pods (apiserver-crash) and
	// systemd restarting the kubelet (kubelet-crash).
	Restarts Toggle
	// Watchdog reboots a stopped control plane (vm-shutdown).
	Watchdog Watchdog
	// Backups snapshot etcd and restore the newest snapshot after a loss
	// (etcd-data-loss).
	Backups Backups
	// Reprovision launches a fresh control plane in the workers' zone from
	// the backups (network-partition).
	Reprovision Toggle
}

// Toggle is a mitigation with nothing to tune.
type Toggle struct{ Enabled bool }

// Watchdog is the status-check watchdog: a check every Period; a reboot
// when Datapoints of the last Evaluation checks failed.
type Watchdog struct {
	Enabled    bool
	Period     time.Duration
	Datapoints int
	Evaluation int
}

// Backups is the etcd backup schedule and its restore runbook. Enabled
// false switches the restore off; the drill still snapshots etcd, as its
// revert needs a snapshot.
type Backups struct {
	Enabled  bool
	Interval time.Duration
}

// Probes tune the probers.
type Probes struct {
	DataPlaneRate float64 // workload requests per second
	Debounce      int     // consecutive results that change a prober's state
}

// Default is the config kdrill uses without a file: the kind cluster
// "kdrill", every scenario, the built-in SLOs, every mitigation on.
func Default() *Config {
	return &Config{
		Target: Target{Provider: Kind, Name: DefaultName},
		Mitigations: Mitigations{
			Restarts: Toggle{Enabled: true},
			Watchdog: Watchdog{
				Enabled:    true,
				Period:     drill.DefaultWatchdog.Period,
				Datapoints: drill.DefaultWatchdog.Datapoints,
				Evaluation: drill.DefaultWatchdog.Evaluation,
			},
			Backups:     Backups{Enabled: true, Interval: drill.DefaultBackupInterval},
			Reprovision: Toggle{Enabled: true},
		},
		Probes: Probes{DataPlaneRate: probe.DefaultDataPlaneRate, Debounce: 2},
	}
}

// IDs lists the scenario ids to drill, in order: all by default.
func (c *Config) IDs() []string {
	if c.Scenarios == nil {
		return drill.Scenarios()
	}
	ids := make([]string, len(c.Scenarios))
	for i, s := range c.Scenarios {
		ids[i] = s.ID
	}
	return ids
}

// Scenario returns the parameters of scenario id (zero when the file
// gives none).
func (c *Config) Scenario(id string) Scenario {
	for _, s := range c.Scenarios {
		if s.ID == id {
			return s
		}
	}
	return Scenario{ID: id}
}

// mitigationOf names the mitigation each drillable scenario relies on.
var mitigationOf = map[string]string{
	slo.APIServerCrash:   "restarts",
	slo.KubeletCrash:     "restarts",
	slo.VMShutdown:       "watchdog",
	slo.EtcdDataLoss:     "backups",
	slo.NetworkPartition: "reprovision",
}

// MitigationOff reports whether scenario id runs with its mitigation
// switched off.
func (c *Config) MitigationOff(id string) bool {
	switch mitigationOf[id] {
	case "restarts":
		return !c.Mitigations.Restarts.Enabled
	case "watchdog":
		return !c.Mitigations.Watchdog.Enabled
	case "backups":
		return !c.Mitigations.Backups.Enabled
	case "reprovision":
		return !c.Mitigations.Reprovision.Enabled
	}
	return false
}

// SetMitigations switches every mitigation on or off (--mitigation-off).
func (c *Config) SetMitigations(on bool) {
	c.Mitigations.Restarts.Enabled = on
	c.Mitigations.Watchdog.Enabled = on
	c.Mitigations.Backups.Enabled = on
	c.Mitigations.Reprovision.Enabled = on
}

// Options returns the drill options for scenario id.
func (c *Config) Options(id string) drill.Options {
	w := c.Mitigations.Watchdog
	return drill.Options{
		SLO:            c.SLO,
		DataPlaneRate:  c.Probes.DataPlaneRate,
		Debounce:       c.Probes.Debounce,
		MitigationOff:  c.MitigationOff(id),
		Watchdog:       drill.WatchdogOptions{Period: w.Period, Datapoints: w.Datapoints, Evaluation: w.Evaluation},
		BackupInterval: c.Mitigations.Backups.Interval,
		ForceStop:      c.Scenario(id).Force,
	}
}
