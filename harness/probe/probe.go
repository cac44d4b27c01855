package probe

import (
	"context"
	"time"
)

// The names of kdrill's standard probers. Timelines, SLO evaluation and the
// results file refer to probers by these names.
const (
	DataPlane  = "data-plane" // HTTP GETs to the workload
	APIRead    = "api-read"   // a quorum GET
	APIWrite   = "api-write"  // ConfigMap writes recorded in the ledger
	Scheduling = "scheduling" // a new pod to Running
	Etcd       = "etcd"       // etcd endpoint health and status
	Kubelet    = "kubelet"    // the kubelet's health on a node
)

// Prober checks one aspect of the cluster once per call.
type Prober interface {
	// Name identifies the prober in the history, timeline and results.
	Name() string
	// Schedule says how often and how long to probe.
	Schedule() Schedule
	// Probe makes one attempt. It must return when ctx ends; the runner
	// gives each attempt a context that ends after Schedule().Timeout.
	Probe(ctx context.Context) Result
}

// Schedule is how a Runner drives a prober.
type Schedule struct {
	// Interval between attempt starts. Attempts start at a fixed rate whether
	// or not earlier ones have finished, so a hanging cluster costs samples
	// (recorded as failures) instead of silently slowing the probe down.
	Interval time.Duration
	// Timeout bounds one attempt; zero means Interval.
	Timeout time.Duration
	// MaxInFlight bounds concurrent attempts; zero means 1. A tick that finds
	// MaxInFlight attempts still running is recorded as a failed attempt.
	MaxInFlight int
}

func (s Schedule) withDefaults() Schedule {
	if s.Timeout <= 0 {
		s.Timeout = s.Interval
	}
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = 1
	}
	return s
}

// Result is the outcome of one attempt.
type Result struct {
	OK     bool
	Detail string            // why it failed, or a short note on success
	Attrs  map[string]string // what was observed: the pod that answered, the etcd revision…
}

// Attempt is one recorded probe attempt.
type Attempt struct {
	Prober string
	Seq    uint64    // 1-based, per prober, in order of start
	Start  time.Time // from the runner's clock; in-process it carries the monotonic reading
	// Duration is how long the attempt took; zero for skipped attempts.
	Duration time.Duration
	OK       bool
	Detail   string
	Attrs    map[string]string
}
