package results

import (
	"time"

	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Schema identifies this version of the results file.
const Schema = "kdrill/results/v1"

// File is a results file.
type File struct {
	Schema    string     `json:"schema"`
	Run       Run        `json:"run"`
	Scenarios []Scenario `json:"scenarios"`
	// Audit is what 'kdrill audit' found; absent from files of drills
	// without an audit, and from every file written before audits existed.
	Audit *Audit `json:"audit,omitempty"`
}

// Audit is whether the mitigations the drills rely on are in place on a
// target, checked without injecting anything.
type Audit struct {
	// Target says what was audited, as a person reads it.
	Target string `json:"target,omitempty"`
	// Time is when the checks were made.
	Time   time.Time    `json:"time"`
	Checks []AuditCheck `json:"checks"`
}

// AuditCheck is one mitigation the audit looked for. Unlike a scenario's
// slo.Check it measures nothing against a bound: it holds or not, and
// Reason says why.
type AuditCheck struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Reason string `json:"reason"`
}

// Failed lists the names of the checks that did not pass, in order.
func (a *Audit) Failed() []string {
	if a == nil {
		return nil
	}
	var out []string
	for _, c := range a.Checks {
		if !c.Pass {
			out = append(out, c.Name)
		}
	}
	return out
}

// Run describes the whole run.
type Run struct {
	KdrillVersion     string    `json:"kdrill_version"`
	Provider          string    `json:"provider"`
	KubernetesVersion string    `json:"kubernetes_version"`
	NodeImage         string    `json:"node_image,omitempty"`
	Start             time.Time `json:"start"`
	End               time.Time `json:"end"`
}

// Scenario is the outcome of one drill. Measurements are null when they
// could not be taken.
type Scenario struct {
	ID      string      `json:"id"`
	Verdict slo.Verdict `json:"verdict"`
	Reason  string      `json:"reason,omitempty"`
	// RTOSeconds: from the fault's injection until every recovery prober was
	// back up.
	RTOSeconds *float64 `json:"rto_seconds"`
	// DataPlaneAvailability: share of data-plane requests that succeeded,
	// 0..1, over the whole drill.
	DataPlaneAvailability *float64 `json:"data_plane_availability"`
	// LostAcknowledgedWrites: acknowledged writes missing after recovery.
	LostAcknowledgedWrites *int `json:"lost_acknowledged_writes"`
	// RPOSeconds: the time span the lost acknowledged writes cover.
	RPOSeconds *float64           `json:"rpo_seconds"`
	SLO        SLO                `json:"slo"`
	Checks     []slo.Check        `json:"checks"`
	Writes     *Writes            `json:"writes,omitempty"`
	Timeline   *timeline.Timeline `json:"timeline"`
	Probers    []probe.Summary    `json:"probers"`
}

// SLO is the bounds a scenario was judged by, in seconds; absent bounds were
// not checked.
type SLO struct {
	MaxRTOSeconds             *float64 `json:"max_rto_seconds,omitempty"`
	MinDataPlaneAvailability  *float64 `json:"min_data_plane_availability,omitempty"`
	MaxLostAcknowledgedWrites *int     `json:"max_lost_acknowledged_writes,omitempty"`
	// MaxRPOSeconds is the RPO bound; when it was given in backup intervals,
	// MaxRPOBackupIntervals says how many and BackupIntervalSeconds how long
	// one was (MaxRPOSeconds is then absent if the interval was unknown).
	MaxRPOSeconds         *float64 `json:"max_rpo_seconds,omitempty"`
	MaxRPOBackupIntervals *float64 `json:"max_rpo_backup_intervals,omitempty"`
	BackupIntervalSeconds *float64 `json:"backup_interval_seconds,omitempty"`
}

// Writes is what verifying the write ledger found.
type Writes struct {
	Acknowledged          int `json:"acknowledged"`
	Present               int `json:"present"`
	Lost                  int `json:"lost"`
	Unacknowledged        int `json:"unacknowledged"`
	UnacknowledgedPresent int `json:"unacknowledged_present"`
	Unexpected            int `json:"unexpected"`
	// LostSeqs are the sequence numbers of the lost writes.
	LostSeqs []uint64 `json:"lost_seqs,omitempty"`
}

// NewScenario records an evaluation and what it was made from.
func NewScenario(ev slo.Evaluation, in slo.Input) Scenario {
	s := Scenario{
		ID:                     ev.Scenario,
		Verdict:                ev.Verdict,
		Reason:                 ev.Reason,
		RTOSeconds:             seconds(ev.RTO),
		DataPlaneAvailability:  ev.Availability,
		LostAcknowledgedWrites: ev.LostWrites,
		RPOSeconds:             seconds(ev.RPO),
		SLO:                    NewSLO(in.Bounds, in.BackupInterval),
		Checks:                 ev.Checks,
		Writes:                 NewWrites(in.Writes),
		Timeline:               in.Timeline,
		Probers:                in.Summaries,
	}
	if s.Checks == nil {
		s.Checks = []slo.Check{}
	}
	if s.Probers == nil {
		s.Probers = []probe.Summary{}
	}
	return s
}

// Errored records a scenario that could not be run or evaluated.
func Errored(id string, err error) Scenario {
	return Scenario{ID: id, Verdict: slo.Error, Reason: err.Error(), Checks: []slo.Check{}, Probers: []probe.Summary{}}
}

// NewSLO converts bounds to their results form.
func NewSLO(b slo.Bounds, backupInterval time.Duration) SLO {
	var s SLO
	if b.MaxRTO != nil {
		s.MaxRTOSeconds = ptr(b.MaxRTO.D().Seconds())
	}
	s.MinDataPlaneAvailability = b.MinDataPlaneAvailability
	s.MaxLostAcknowledgedWrites = b.MaxLostAcknowledgedWrites
	if b.MaxRPO != nil {
		s.MaxRPOSeconds = ptr(b.MaxRPO.D().Seconds())
	}
	if n := b.MaxRPOBackupIntervals; n != nil {
		s.MaxRPOBackupIntervals = n
		if backupInterval > 0 {
			s.BackupIntervalSeconds = ptr(backupInterval.Seconds())
			s.MaxRPOSeconds = ptr(*n * backupInterval.Seconds())
		}
	}
	return s
}

// NewWrites converts a ledger report; nil stays nil.
func NewWrites(r *ledger.Report) *Writes {
	if r == nil {
		return nil
	}
	w := &Writes{
		Acknowledged:          r.Acknowledged,
		Present:               r.Present,
		Lost:                  r.Lost,
		Unacknowledged:        r.Unacknowledged,
		UnacknowledgedPresent: r.UnacknowledgedPresent,
		Unexpected:            r.Unexpected,
	}
	for _, l := range r.LostWrites {
		w.LostSeqs = append(w.LostSeqs, l.Seq)
	}
	return w
}

func seconds(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	return ptr(d.Seconds())
}

func ptr[T any](v T) *T { return &v }
