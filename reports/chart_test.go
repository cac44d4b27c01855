package reports

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/timeline"
)

func TestTrackBands(t *testing.T) {
	s := func(v float64) timeline.Offset { return timeline.Offset(v * float64(time.Second)) }
	tr := &timeline.Track{Prober: "p", Transitions: []timeline.Transition{
		{At: s(1), From: timeline.Unknown, To: timeline.Up},
		{At: s(4), From: timeline.Up, To: timeline.Down},
		{At: s(6), From: timeline.Down, To: timeline.Up},
	}}
	got := trackBands(tr, 0, 10)
	want := []band{{0, 1, "unknown"}, {1, 4, "up"}, {4, 6, "down"}, {6, 10, "up"}}
	if len(got) != len(want) {
		t.Fatalf("trackBands = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("band %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDownsample(t *testing.T) {
	// 10,000 bands over 100 s: down for 5 ms of every 10 ms from 20 s to
	// 40 s, down throughout 60–70 s, up elsewhere.
	var bs []band
	at := 0.0
	add := func(to float64, state string) {
		bs = append(bs, band{at, to, state})
		at = to
	}
	add(20, "up")
	for i := 0; i < 2000; i++ {
		add(at+0.005, "down")
		add(at+0.005, "up")
	}
	add(60, "up")
	add(70, "down")
	add(100, "up")
	got := downsample(bs, 0, 100, 100)
	if len(got) > 100 {
		t.Fatalf("%d bands after downsampling to 100 columns", len(got))
	}
	var total float64
	for i, b := range got {
		total += b.to - b.from
		if i > 0 && got[i-1].state == b.state {
			t.Errorf("bands %d and %d are both %s: not merged", i-1, i, b.state)
		}
	}
	if math.Abs(total-100) > 1e-6 {
		t.Errorf("downsampled bands cover %v s, want 100", total)
	}
	stateAt := func(v float64) string {
		for _, b := range got {
			if v >= b.from && v < b.to {
				return b.state
			}
		}
		return ""
	}
	for v, want := range map[float64]string{10: "up", 30: mixed, 65: "down", 90: "up"} {
		if s := stateAt(v); s != want {
			t.Errorf("at %v s: %s, want %s", v, s, want)
		}
	}
}

// TestChartSizeBounded: however many times a prober flaps, its lane is no
// bigger than its columns.
func TestChartSizeBounded(t *testing.T) {
	size := func(transitions int) int {
		tr := timeline.Track{Prober: "data-plane", Samples: transitions * 2, Final: timeline.Up}
		for i := range transitions {
			to := timeline.Down
			if i%2 == 0 {
				to = timeline.Up
			}
			tr.Transitions = append(tr.Transitions, timeline.Transition{At: timeline.Offset(time.Duration(i) * 10 * time.Millisecond), To: to})
		}
		sc := &results.Scenario{ID: "apiserver-crash", Timeline: &timeline.Timeline{
			Duration: timeline.Offset(time.Duration(transitions) * 10 * time.Millisecond), Probers: []timeline.Track{tr},
		}}
		svg := timelineSVG(sc)
		if !strings.Contains(svg, `data-mode="downsampled"`) {
			t.Errorf("%d transitions not downsampled", transitions)
		}
		return len(svg)
	}
	small, big := size(1000), size(1_000_000)
	if big > 2*small || big > 40_000 {
		t.Errorf("chart of 1,000,000 transitions is %d bytes, of 1,000 %d: want it bounded", big, small)
	}
}
