package drill

import (
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// TestNoOutage: an outage that ended before the fault went in is not the
// fault's; one that overlaps it or comes after it is.
func TestNoOutage(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	// One attempt a second for 20 s, failing in the seconds listed.
	timeline1 := func(fault time.Duration, down ...int) *timeline.Timeline {
		var as []probe.Attempt
		for i := range 20 {
			ok := true
			for _, d := range down {
				ok = ok && i != d
			}
			as = append(as, probe.Attempt{Prober: probe.APIRead, Seq: uint64(i + 1), Start: t0.Add(time.Duration(i) * time.Second), Duration: 10 * time.Millisecond, OK: ok})
		}
		ev := []timeline.Event{{Time: t0.Add(fault), Kind: timeline.FaultInjected, Source: "kubelet-crash"}}
		return timeline.Build(t0, t0.Add(20*time.Second), as, ev, timeline.Options{Debounce: 2})
	}
	for _, tt := range []struct {
		name string
		tl   *timeline.Timeline
		want slo.Verdict
	}{
		{"no outage", timeline1(10 * time.Second), slo.Pass},
		{"over before the fault", timeline1(10*time.Second, 4, 5), slo.Pass},
		{"under way when the fault went in", timeline1(5*time.Second, 4, 5, 6), slo.Fail},
		{"after the fault", timeline1(10*time.Second, 14, 15), slo.Fail},
		{"before and after the fault", timeline1(10*time.Second, 2, 3, 14, 15), slo.Fail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := noOutage(nil, tt.tl, probe.APIRead, "control_plane_kept_serving", "ok")
			if c.Verdict != tt.want {
				t.Errorf("verdict %s (%s), want %s", c.Verdict, c.Detail, tt.want)
			}
		})
	}
}
