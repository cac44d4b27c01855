package slo

import (
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/timeline"
)

// BenchmarkEvaluateMillion times turning 1,000,000 attempts (a data-plane
// prober at 500/s for 2,000 s, with a 30 s outage, plus the API probers) into
// a timeline, summaries and an evaluation. Target: ≤ 1 s.
func BenchmarkEvaluateMillion(b *testing.B) {
	const n = 1_000_000
	as := make([]probe.Attempt, 0, n)
	for i := range n - 4000 {
		at := time.Duration(i) * 2 * time.Millisecond
		as = append(as, probe.Attempt{Prober: probe.DataPlane, Seq: uint64(i + 1), Start: t0.Add(at), Duration: time.Millisecond,
			OK: at < 100*time.Second || at > 130*time.Second, Attrs: map[string]string{"pod": "echo-1"}})
	}
	for _, name := range []string{probe.APIRead, probe.APIWrite} {
		for i := range 2000 {
			at := time.Duration(i) * time.Second
			as = append(as, probe.Attempt{Prober: name, Seq: uint64(i + 1), Start: t0.Add(at), Duration: 5 * time.Millisecond,
				OK: at < 100*time.Second || at > 110*time.Second})
		}
	}
	events := []timeline.Event{{Time: t0.Add(99 * time.Second), Kind: timeline.FaultInjected, Source: APIServerCrash}}
	bounds := (*Config)(nil).For(APIServerCrash)
	b.ResetTimer()
	for b.Loop() {
		tl := timeline.Build(t0, t0.Add(2000*time.Second), as, events, timeline.Options{Debounce: 3})
		ev := Evaluate(Input{Scenario: APIServerCrash, Bounds: bounds, Timeline: tl, Summaries: probe.Summarize(as)})
		if ev.RTO == nil || ev.Verdict != Fail { // availability 98.5% < 99.5%
			b.Fatalf("verdict %s: %s", ev.Verdict, ev.Reason)
		}
	}
}
