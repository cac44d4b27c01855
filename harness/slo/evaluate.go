package slo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Verdict is the outcome of a check or a scenario.
type Verdict string

// The verdicts. Error means the drill could not measure what a bound needs
// (no fault injected, no samples, writes not verified), which proves nothing
// either way.
const (
	Pass  Verdict = "pass"
	Fail  Verdict = "fail"
	Error Verdict = "error"
)

// The checks an evaluation can make.
const (
	CheckRTO          = "rto"
	CheckAvailability = "data_plane_availability"
	CheckLostWrites   = "lost_acknowledged_writes"
	CheckRPO          = "rpo"
)

// Check is one bound held against what was measured.
type Check struct {
	Name string `json:"name"`
	// Unit of Measured, Bound and Margin: "seconds", "ratio" or "writes".
	Unit string `json:"unit"`
	// Measured is nil when it could not be measured.
	Measured *float64 `json:"measured"`
	Bound    float64  `json:"bound"`
	// Kind says whether Bound is an upper bound ("max": RTO, lost writes,
	// RPO) or a lower one ("min": availability).
	Kind string `json:"kind"`
	// Margin is how far inside the bound the measurement was: positive when
	// it held, negative by how much it was missed; nil if not measured.
	Margin  *float64 `json:"margin"`
	Verdict Verdict  `json:"verdict"`
	Detail  string   `json:"detail,omitempty"`
}

// Input is what a scenario's evaluation looks at.
type Input struct {
	Scenario string
	Bounds   Bounds
	Timeline *timeline.Timeline
	// Summaries of the probers' attempts; availability is the data-plane
	// prober's success ratio over the whole drill.
	Summaries []probe.Summary
	// Writes is the verified ledger; nil when the writes were not verified.
	Writes *ledger.Report
	// BackupInterval is the etcd backup schedule, for
	// Bounds.MaxRPOBackupIntervals.
	BackupInterval time.Duration
	// RecoveryProbers must all be back up for the scenario to count as
	// recovered; default RecoveryProbers(Scenario).
	RecoveryProbers []string
	// DataPlaneProber names the prober availability is measured on; default
	// probe.DataPlane.
	DataPlaneProber string
}

// Evaluation is a scenario's verdict and what it rests on.
type Evaluation struct {
	Scenario string
	Verdict  Verdict
	// Reason sums up why the verdict is not pass.
	Reason string
	Checks []Check
	// What was measured, whether bounded or not; nil if not measurable.
	RTO          *time.Duration
	Availability *float64
	LostWrites   *int
	RPO          *time.Duration
}

// RecoveryProbers returns the probers whose outages make up a scenario's RTO:
// the API for the control-plane scenarios, the kubelet's health for
// kubelet-crash, and for network-partition also scheduling, since a control
// plane the workers cannot reach cannot start pods on them.
func RecoveryProbers(scenario string) []string {
	switch scenario {
	case KubeletCrash:
		return []string{probe.Kubelet}
	case NetworkPartition:
		return []string{probe.APIRead, probe.APIWrite, probe.Scheduling}
	default:
		return []string{probe.APIRead, probe.APIWrite}
	}
}

// Evaluate measures RTO, availability, lost writes and RPO, as far as the
// input allows, and holds each bound set in in.Bounds against them. The
// scenario fails if any check fails, is an error if none failed but one
// could not be measured, and passes otherwise.
func Evaluate(in Input) Evaluation {
	if in.RecoveryProbers == nil {
		in.RecoveryProbers = RecoveryProbers(in.Scenario)
	}
	if in.DataPlaneProber == "" {
		in.DataPlaneProber = probe.DataPlane
	}
	ev := Evaluation{Scenario: in.Scenario, Checks: []Check{}}
	b := in.Bounds

	rto, rtoDetail, rtoErr := measureRTO(in.Timeline, in.RecoveryProbers)
	if rtoErr == nil {
		ev.RTO = &rto
	}
	if b.MaxRTO != nil {
		bound := b.MaxRTO.D().Seconds()
		switch {
		case rtoErr != nil:
			ev.Checks = append(ev.Checks, unmeasured(CheckRTO, "seconds", bound, true, rtoErr.Error()))
		case rtoDetail.open && rto.Seconds() <= bound:
			// Still down, but the drill ended before the bound: the
			// scenario might yet have recovered in time.
			c := unmeasured(CheckRTO, "seconds", bound, true,
				fmt.Sprintf("%s, but the drill ended %s after the fault, before the bound", rtoDetail.text, rto.Round(time.Millisecond)))
			ev.Checks = append(ev.Checks, c)
			ev.RTO = nil
		default:
			ev.Checks = append(ev.Checks, measured(CheckRTO, "seconds", rto.Seconds(), bound, true, rtoDetail.text))
		}
	}

	if s := summary(in.Summaries, in.DataPlaneProber); s != nil && s.Attempts > 0 {
		a := float64(s.Successes) / float64(s.Attempts)
		ev.Availability = &a
	}
	if b.MinDataPlaneAvailability != nil {
		bound := *b.MinDataPlaneAvailability
		if ev.Availability == nil {
			ev.Checks = append(ev.Checks, unmeasured(CheckAvailability, "ratio", bound, false,
				fmt.Sprintf("no samples from prober %s", in.DataPlaneProber)))
		} else {
			s := summary(in.Summaries, in.DataPlaneProber)
			ev.Checks = append(ev.Checks, measured(CheckAvailability, "ratio", *ev.Availability, bound, false,
				fmt.Sprintf("%d of %d requests succeeded", s.Successes, s.Attempts)))
		}
	}

	if in.Writes != nil {
		lost, rpo := in.Writes.Lost, in.Writes.Window
		ev.LostWrites, ev.RPO = &lost, &rpo
	}
	if b.MaxLostAcknowledgedWrites != nil {
		bound := float64(*b.MaxLostAcknowledgedWrites)
		if in.Writes == nil {
			ev.Checks = append(ev.Checks, unmeasured(CheckLostWrites, "writes", bound, true, "the writes were not verified"))
		} else {
			ev.Checks = append(ev.Checks, measured(CheckLostWrites, "writes", float64(in.Writes.Lost), bound, true,
				fmt.Sprintf("%d of %d acknowledged writes lost", in.Writes.Lost, in.Writes.Acknowledged)))
		}
	}
	if b.MaxRPO != nil || b.MaxRPOBackupIntervals != nil {
		var bound time.Duration
		boundErr := ""
		if b.MaxRPO != nil {
			bound = b.MaxRPO.D()
		} else if in.BackupInterval <= 0 {
			boundErr = "the bound is in backup intervals but the backup interval is unknown"
		} else {
			bound = time.Duration(*b.MaxRPOBackupIntervals * float64(in.BackupInterval))
		}
		switch {
		case boundErr != "":
			ev.Checks = append(ev.Checks, unmeasured(CheckRPO, "seconds", 0, true, boundErr))
		case in.Writes == nil:
			ev.Checks = append(ev.Checks, unmeasured(CheckRPO, "seconds", bound.Seconds(), true, "the writes were not verified"))
		default:
			ev.Checks = append(ev.Checks, measured(CheckRPO, "seconds", in.Writes.Window.Seconds(), bound.Seconds(), true,
				fmt.Sprintf("%d lost acknowledged writes span %s", in.Writes.Lost, in.Writes.Window.Round(time.Millisecond))))
		}
	}

	ev.Verdict, ev.Reason = verdict(ev.Checks)
	return ev
}

func verdict(checks []Check) (Verdict, string) {
	var failed, errored []string
	for _, c := range checks {
		switch c.Verdict {
		case Fail:
			failed = append(failed, c.Name+": "+c.Detail)
		case Error:
			errored = append(errored, c.Name+": "+c.Detail)
		}
	}
	switch {
	case len(failed) > 0:
		return Fail, strings.Join(failed, "; ")
	case len(errored) > 0:
		return Error, strings.Join(errored, "; ")
	}
	return Pass, ""
}

func measured(name, unit string, value, bound float64, isMax bool, detail string) Check {
	margin := value - bound
	if isMax {
		margin = bound - value
	}
	v := Pass
	if margin < 0 {
		v = Fail
	}
	// Keep float noise (0.995 from 1 is 0.0050000000000000044) out of
	// reports; the verdict is decided on the exact value.
	margin = math.Round(margin*1e9) / 1e9
	if margin == 0 {
		margin = 0 // not -0
	}
	c := unmeasured(name, unit, bound, isMax, detail)
	c.Measured, c.Margin, c.Verdict = &value, &margin, v
	return c
}

func unmeasured(name, unit string, bound float64, isMax bool, detail string) Check {
	kind := "min"
	if isMax {
		kind = "max"
	}
	return Check{Name: name, Unit: unit, Bound: bound, Kind: kind, Verdict: Error, Detail: detail}
}

func summary(ss []probe.Summary, name string) *probe.Summary {
	i := slices.IndexFunc(ss, func(s probe.Summary) bool { return s.Prober == name })
	if i < 0 {
		return nil
	}
	return &ss[i]
}

type rtoDetail struct {
	text string
	open bool // some recovery prober was still down at the end
}

// measureRTO is the time from the first fault-injected event until the last
// outage of any recovery prober that was under way at or began after the
// injection ended; zero if none went down. An outage still open at the end
// of the drill counts up to the end, with open set.
func measureRTO(tl *timeline.Timeline, probers []string) (time.Duration, rtoDetail, error) {
	var d rtoDetail
	if tl == nil {
		return 0, d, fmt.Errorf("no timeline")
	}
	if len(probers) == 0 {
		return 0, d, fmt.Errorf("no recovery probers")
	}
	inj, ok := tl.FirstEvent(timeline.FaultInjected)
	if !ok {
		return 0, d, fmt.Errorf("no %s event in the timeline", timeline.FaultInjected)
	}
	recovered := inj.At
	last := ""
	for _, name := range probers {
		tr := tl.Track(name)
		switch {
		case tr == nil || tr.Samples == 0:
			return 0, d, fmt.Errorf("no samples from prober %s", name)
		case tr.LastSample < inj.At:
			return 0, d, fmt.Errorf("no samples from prober %s after the fault was injected", name)
		case tr.Final == timeline.Unknown:
			return 0, d, fmt.Errorf("prober %s never settled up or down (%d samples, debounce %d)", name, tr.Samples, tl.Debounce)
		}
		for _, o := range tl.Outages(name) {
			if o.End < inj.At && !o.Open {
				continue // over before the fault
			}
			if o.Open {
				d.open = true
			}
			if o.End >= recovered {
				recovered, last = o.End, name
			}
		}
	}
	rto := (recovered - inj.At).Duration()
	switch {
	case d.open:
		d.text = fmt.Sprintf("%s still down at the end of the drill", last)
	case last == "":
		d.text = fmt.Sprintf("no outage of %s after the fault", strings.Join(probers, ", "))
	default:
		d.text = fmt.Sprintf("%s back up %s after the fault", last, rto.Round(time.Millisecond))
	}
	return rto, d, nil
}
