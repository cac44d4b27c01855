package slo

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/timeline"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// drill describes a drill in patterns: one character per second per
// prober, '+' up and '-' down; the fault is injected at inject seconds
// (negative for never) and the drill lasts end seconds.
type drill struct {
	probers map[string]string
	inject  float64
	end     float64
}

func (d drill) timeline() *timeline.Timeline {
	var as []probe.Attempt
	for name, pattern := range d.probers {
		for i, c := range pattern {
			as = append(as, probe.Attempt{Prober: name, Seq: uint64(i + 1), Start: t0.Add(time.Duration(i) * time.Second), OK: c == '+'})
		}
	}
	var evs []timeline.Event
	if d.inject >= 0 {
		evs = append(evs, timeline.Event{Time: t0.Add(time.Duration(d.inject * float64(time.Second))), Kind: timeline.FaultInjected, Source: "test"})
	}
	return timeline.Build(t0, t0.Add(time.Duration(d.end*float64(time.Second))), as, evs, timeline.Options{Debounce: 2})
}

func dataPlane(ok, total int) []probe.Summary {
	return []probe.Summary{{Prober: probe.DataPlane, Attempts: total, Successes: ok}}
}

func dur(d time.Duration) *Duration { return ptr(Duration(d)) }

// apiDown is the API down from 3s to 8s (read) and 9s (write) of a 13s
// drill, the fault injected at 2.5s: an RTO of 6.5s.
var apiDown = drill{probers: map[string]string{
	probe.APIRead:  "+++-----+++++",
	probe.APIWrite: "+++------++++",
}, inject: 2.5, end: 13}

type wantCheck struct {
	name     string
	verdict  Verdict
	measured float64 // NaN: not measured
	bound    float64
	margin   float64
	detail   string
}

func TestEvaluate(t *testing.T) {
	nan := math.NaN()
	lost := func(n int, window time.Duration) *ledger.Report {
		return &ledger.Report{Acknowledged: 100, Present: 100 - n, Lost: n, Window: window}
	}
	tests := []struct {
		name    string
		in      Input
		drill   drill
		verdict Verdict
		reason  string
		checks  []wantCheck
		rto     float64 // NaN: nil
	}{
		{
			name:    "apiserver crash within the defaults",
			in:      Input{Scenario: APIServerCrash, Bounds: (*Config)(nil).For(APIServerCrash), Summaries: dataPlane(1000, 1000)},
			drill:   apiDown,
			verdict: Pass,
			checks: []wantCheck{
				{CheckRTO, Pass, 6.5, 60, 53.5, "api-write back up 6.5s after the fault"},
				{CheckAvailability, Pass, 1, 0.995, 0.005, "1000 of 1000"},
			},
			rto: 6.5,
		},
		{
			name:    "RTO over the bound",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(5 * time.Second)}},
			drill:   apiDown,
			verdict: Fail,
			reason:  "rto: api-write back up",
			checks:  []wantCheck{{CheckRTO, Fail, 6.5, 5, -1.5, ""}},
			rto:     6.5,
		},
		{
			name:    "availability exactly at the bound",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MinDataPlaneAvailability: ptr(0.995)}, Summaries: dataPlane(995, 1000)},
			drill:   apiDown,
			verdict: Pass,
			checks:  []wantCheck{{CheckAvailability, Pass, 0.995, 0.995, 0, ""}},
			rto:     6.5,
		},
		{
			name:    "availability under the bound",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MinDataPlaneAvailability: ptr(0.995)}, Summaries: dataPlane(990, 1000)},
			drill:   apiDown,
			verdict: Fail,
			checks:  []wantCheck{{CheckAvailability, Fail, 0.99, 0.995, -0.005, "990 of 1000"}},
			rto:     6.5,
		},
		{
			name:    "no data-plane samples",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MinDataPlaneAvailability: ptr(0.995)}, Summaries: dataPlane(0, 0)},
			drill:   apiDown,
			verdict: Error,
			reason:  "no samples from prober data-plane",
			checks:  []wantCheck{{CheckAvailability, Error, nan, 0.995, nan, ""}},
			rto:     6.5,
		},
		{
			name:    "no fault injected",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: apiDown.probers, inject: -1, end: 13},
			verdict: Error,
			reason:  "no fault-injected event",
			checks:  []wantCheck{{CheckRTO, Error, nan, 60, nan, ""}},
			rto:     nan,
		},
		{
			name:    "a recovery prober without samples",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "+++---+++"}, inject: 2, end: 9},
			verdict: Error,
			reason:  "no samples from prober api-write",
			checks:  []wantCheck{{CheckRTO, Error, nan, 60, nan, ""}},
			rto:     nan,
		},
		{
			name:    "a recovery prober that never settled",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "+++---+++", probe.APIWrite: "+-+-+-+-+"}, inject: 2, end: 9},
			verdict: Error,
			reason:  "never settled",
			rto:     nan,
		},
		{
			name:    "samples stop before the fault",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "+++", probe.APIWrite: "+++++++"}, inject: 5, end: 9},
			verdict: Error,
			reason:  "no samples from prober api-read after the fault",
			rto:     nan,
		},
		{
			name:    "no outage after the fault",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "++++++", probe.APIWrite: "++++++"}, inject: 2, end: 6},
			verdict: Pass,
			checks:  []wantCheck{{CheckRTO, Pass, 0, 60, 60, "no outage of api-read, api-write after the fault"}},
			rto:     0,
		},
		{
			name:    "an outage over before the fault does not count",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "--++++++", probe.APIWrite: "++++++++"}, inject: 4, end: 8},
			verdict: Pass,
			checks:  []wantCheck{{CheckRTO, Pass, 0, 60, 60, ""}},
			rto:     0,
		},
		{
			name:    "an outage under way at the fault counts",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "+-----++", probe.APIWrite: "++++++++"}, inject: 4, end: 8},
			verdict: Pass,
			checks:  []wantCheck{{CheckRTO, Pass, 2, 60, 58, "api-read back up"}},
			rto:     2,
		},
		{
			name:    "still down long after the bound",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(5 * time.Second)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "+++-------", probe.APIWrite: "++++++++++"}, inject: 2.5, end: 20},
			verdict: Fail,
			reason:  "api-read still down at the end of the drill",
			checks:  []wantCheck{{CheckRTO, Fail, 17.5, 5, -12.5, ""}},
			rto:     17.5,
		},
		{
			name:    "still down when the drill ended before the bound",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Minute)}},
			drill:   drill{probers: map[string]string{probe.APIRead: "+++-------", probe.APIWrite: "++++++++++"}, inject: 2.5, end: 20},
			verdict: Error,
			reason:  "drill ended 17.5s after the fault, before the bound",
			checks:  []wantCheck{{CheckRTO, Error, nan, 60, nan, ""}},
			rto:     nan,
		},
		{
			name: "kubelet crash is measured on the kubelet prober",
			in:   Input{Scenario: KubeletCrash, Bounds: Bounds{MaxRTO: dur(30 * time.Second)}},
			drill: drill{probers: map[string]string{
				probe.Kubelet: "++----++++", probe.APIRead: "----------",
			}, inject: 1, end: 10},
			verdict: Pass,
			checks:  []wantCheck{{CheckRTO, Pass, 5, 30, 25, "kubelet back up"}},
			rto:     5,
		},
		{
			name:    "explicit recovery probers",
			in:      Input{Scenario: KubeletCrash, Bounds: Bounds{MaxRTO: dur(30 * time.Second)}, RecoveryProbers: []string{probe.APIRead}},
			drill:   apiDown,
			verdict: Pass,
			checks:  []wantCheck{{CheckRTO, Pass, 5.5, 30, 24.5, "api-read back up"}},
			rto:     5.5,
		},
		{
			name:    "lost writes within the bound",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxLostAcknowledgedWrites: ptr(0)}, Writes: lost(0, 0)},
			drill:   apiDown,
			verdict: Pass,
			checks:  []wantCheck{{CheckLostWrites, Pass, 0, 0, 0, "0 of 100 acknowledged writes lost"}},
			rto:     6.5,
		},
		{
			name:    "lost writes over the bound",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxLostAcknowledgedWrites: ptr(0)}, Writes: lost(2, 3*time.Second)},
			drill:   apiDown,
			verdict: Fail,
			checks:  []wantCheck{{CheckLostWrites, Fail, 2, 0, -2, "2 of 100"}},
			rto:     6.5,
		},
		{
			name:    "writes not verified",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxLostAcknowledgedWrites: ptr(0)}},
			drill:   apiDown,
			verdict: Error,
			checks:  []wantCheck{{CheckLostWrites, Error, nan, 0, nan, "not verified"}},
			rto:     6.5,
		},
		{
			name: "RPO within one backup interval",
			in: Input{Scenario: EtcdDataLoss, Bounds: (*Config)(nil).For(EtcdDataLoss), Summaries: dataPlane(10, 10),
				Writes: lost(30, 30*time.Second), BackupInterval: time.Minute},
			drill:   apiDown,
			verdict: Pass,
			checks: []wantCheck{
				{CheckRTO, Pass, 6.5, 300, 293.5, ""},
				{CheckAvailability, Pass, 1, 0.995, 0.005, ""},
				{CheckRPO, Pass, 30, 60, 30, "30 lost acknowledged writes span 30s"},
			},
			rto: 6.5,
		},
		{
			name:    "RPO over one backup interval",
			in:      Input{Scenario: EtcdDataLoss, Bounds: Bounds{MaxRPOBackupIntervals: ptr(1.0)}, Writes: lost(90, 90*time.Second), BackupInterval: time.Minute},
			drill:   apiDown,
			verdict: Fail,
			checks:  []wantCheck{{CheckRPO, Fail, 90, 60, -30, ""}},
			rto:     6.5,
		},
		{
			name:    "RPO in backup intervals without the interval",
			in:      Input{Scenario: EtcdDataLoss, Bounds: Bounds{MaxRPOBackupIntervals: ptr(1.0)}, Writes: lost(1, 0)},
			drill:   apiDown,
			verdict: Error,
			reason:  "backup interval is unknown",
			rto:     6.5,
		},
		{
			name:    "explicit RPO bound",
			in:      Input{Scenario: EtcdDataLoss, Bounds: Bounds{MaxRPO: dur(10 * time.Second)}, Writes: lost(1, 2*time.Second)},
			drill:   apiDown,
			verdict: Pass,
			checks:  []wantCheck{{CheckRPO, Pass, 2, 10, 8, ""}},
			rto:     6.5,
		},
		{
			name:    "RPO without verified writes",
			in:      Input{Scenario: EtcdDataLoss, Bounds: Bounds{MaxRPO: dur(10 * time.Second)}},
			drill:   apiDown,
			verdict: Error,
			checks:  []wantCheck{{CheckRPO, Error, nan, 10, nan, "not verified"}},
			rto:     6.5,
		},
		{
			name:    "a failure outweighs an error",
			in:      Input{Scenario: APIServerCrash, Bounds: Bounds{MaxRTO: dur(time.Second), MinDataPlaneAvailability: ptr(0.995)}},
			drill:   apiDown,
			verdict: Fail,
			reason:  "rto:",
			rto:     6.5,
		},
		{
			name:    "no bounds: measured, nothing checked",
			in:      Input{Scenario: NetworkPartition, Summaries: dataPlane(1, 2), Writes: lost(1, time.Second)},
			drill:   drill{probers: map[string]string{probe.APIRead: "++", probe.APIWrite: "++", probe.Scheduling: "++"}, inject: 0, end: 2},
			verdict: Pass,
			checks:  []wantCheck{},
			rto:     0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Timeline = tt.drill.timeline()
			ev := Evaluate(tt.in)
			if ev.Verdict != tt.verdict || !strings.Contains(ev.Reason, tt.reason) {
				t.Errorf("verdict %s (%s), want %s with reason containing %q", ev.Verdict, ev.Reason, tt.verdict, tt.reason)
			}
			if ev.Scenario != tt.in.Scenario {
				t.Errorf("scenario %q", ev.Scenario)
			}
			if math.IsNaN(tt.rto) != (ev.RTO == nil) || (ev.RTO != nil && !near(ev.RTO.Seconds(), tt.rto)) {
				t.Errorf("RTO %v, want %v", ev.RTO, tt.rto)
			}
			if tt.checks == nil {
				return
			}
			if len(ev.Checks) != len(tt.checks) {
				t.Fatalf("checks %+v, want %d", ev.Checks, len(tt.checks))
			}
			for i, w := range tt.checks {
				c := ev.Checks[i]
				wantKind := "max"
				if w.name == CheckAvailability {
					wantKind = "min"
				}
				if c.Name != w.name || c.Verdict != w.verdict || c.Bound != w.bound || c.Kind != wantKind || !strings.Contains(c.Detail, w.detail) {
					t.Errorf("check %d: %+v, want %+v", i, c, w)
				}
				if math.IsNaN(w.measured) {
					if c.Measured != nil || c.Margin != nil {
						t.Errorf("check %s: measured %v margin %v, want nil", c.Name, c.Measured, c.Margin)
					}
					continue
				}
				if c.Measured == nil || !near(*c.Measured, w.measured) || c.Margin == nil || !near(*c.Margin, w.margin) {
					t.Errorf("check %s: measured %v margin %v, want %v and %v", c.Name, val(c.Measured), val(c.Margin), w.measured, w.margin)
				}
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func val(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestEvaluateReportsMeasurements(t *testing.T) {
	ev := Evaluate(Input{
		Scenario:  EtcdDataLoss,
		Timeline:  apiDown.timeline(),
		Summaries: dataPlane(3, 4),
		Writes:    &ledger.Report{Acknowledged: 10, Present: 7, Lost: 3, Window: 2 * time.Second},
	})
	if *ev.Availability != 0.75 || *ev.LostWrites != 3 || *ev.RPO != 2*time.Second || ev.RTO.Seconds() != 6.5 {
		t.Errorf("measurements %v %v %v %v", *ev.Availability, *ev.LostWrites, *ev.RPO, *ev.RTO)
	}
	ev = Evaluate(Input{Scenario: EtcdDataLoss})
	if ev.Availability != nil || ev.LostWrites != nil || ev.RPO != nil || ev.RTO != nil || ev.Verdict != Pass {
		t.Errorf("nothing measured, nothing bounded: %+v", ev)
	}
}

func TestRecoveryProbers(t *testing.T) {
	for _, id := range Scenarios() {
		if len(RecoveryProbers(id)) == 0 {
			t.Errorf("%s has no recovery probers", id)
		}
	}
	p := RecoveryProbers(NetworkPartition)
	p[0] = "changed"
	if RecoveryProbers(NetworkPartition)[0] == "changed" {
		t.Error("RecoveryProbers shares its slice")
	}
}
