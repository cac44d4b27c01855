package reports

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/timeline"
)

// checkLatency checks a chart's latency panel against the results file:
// drawn from the data-plane track's series when the file has one, every
// bucket's figures on its hover area, the p50 line and the top of the max
// band at the bucket's latencies across the bucket, a failure bar per
// bucket with failures as high as their share; else the whole-drill p50
// and p99 as flat lines.
func checkLatency(t *testing.T, svg *html.Node, sc *results.Scenario) {
	t.Helper()
	panels := findAll(svg, tag("g", "latency"))
	p := latencyPanelOf(sc)
	if p.mode == panelNone {
		if len(panels) != 0 {
			t.Errorf("%s: a latency panel with nothing to draw", sc.ID)
		}
		return
	}
	if len(panels) != 1 || attr(panels[0], "data-mode") != p.mode || attr(panels[0], "data-prober") != probe.DataPlane {
		t.Fatalf("%s: latency panels %d, mode %q, want one of the data plane, %q", sc.ID, len(panels), attr(panels[0], "data-mode"), p.mode)
	}
	g := panels[0]
	if p.mode == panelFlat {
		// As before there were series: the whole-drill percentiles.
		for name, v := range map[string]float64{"p50": *p.summary.LatencyP50, "p99": *p.summary.LatencyP99} {
			lines := findAll(g, tag("line", "latency-"+name))
			if len(lines) != 1 || attr(lines[0], "y1") != attr(lines[0], "y2") {
				t.Errorf("%s: flat %s line %v", sc.ID, name, lines)
			}
			if l := findAll(g, tag("text", "latency-label")); len(l) != 2 || !strings.Contains(text(l[0])+text(l[1]), name+" "+latency(v)) {
				t.Errorf("%s: flat latency labels lack %s %s", sc.ID, name, latency(v))
			}
		}
		if len(findAll(g, tag("rect", "latency-bucket"))) != 0 {
			t.Errorf("%s: flat panel with buckets", sc.ID)
		}
		return
	}

	tl, tr := sc.Timeline, p.track
	w := tl.LatencyWidth.Seconds()
	if attr(g, "data-bucket-seconds") != exact(w) || attr(g, "data-buckets") != strconv.Itoa(len(tr.Latency)) {
		t.Errorf("%s: panel of %s buckets of %s s, the file has %d of %v", sc.ID, attr(g, "data-buckets"), attr(g, "data-bucket-seconds"), len(tr.Latency), w)
	}
	// The chart's scales, from the attributes the chart states them in.
	lo, hi := float(t, attr(svg, "data-from")), float(t, attr(svg, "data-to"))
	x := func(v float64) float64 { return chartLeft + (v-lo)/(hi-lo)*plotW }
	r := strings.Fields(attr(g, "data-log-range"))
	llo, lhi := float(t, r[0]), float(t, r[1])
	top, h := float(t, attr(g, "data-top")), float(t, attr(g, "data-height"))
	y := func(v float64) float64 { return top + h - (math.Log10(math.Max(v, minLatency))-llo)/(lhi-llo)*h }

	rects := findAll(g, tag("rect", "latency-bucket"))
	line := segments(t, findAll(g, tag("path", "latency-line")))
	band := segments(t, findAll(g, tag("path", "latency-band")))
	bars := segments(t, findAll(g, tag("path", "latency-failed")))
	var k, failing int
	const tol = 0.11 // coordinates are written to a tenth
	for _, b := range tr.Latency {
		from, to := math.Max(b.At.Seconds(), lo), math.Min(b.At.Seconds()+w, hi)
		if to <= from {
			continue // outside the chart
		}
		x0, x1 := x(from), x(to)
		if k >= len(rects) {
			t.Fatalf("%s: %d bucket hover areas, the file has more buckets", sc.ID, len(rects))
		}
		rect := rects[k]
		k++
		want := map[string]string{"data-at": exact(b.At.Seconds()), "data-n": strconv.Itoa(b.N), "data-failures": strconv.Itoa(b.Failures),
			"data-p50": optExact(b.P50), "data-max": optExact(b.Max)}
		for a, v := range want {
			if attr(rect, a) != v {
				t.Errorf("%s: bucket at %v: %s=%q, the file has %q", sc.ID, b.At.Seconds(), a, attr(rect, a), v)
			}
		}
		rx, rw := float(t, attr(rect, "x")), float(t, attr(rect, "width"))
		if math.Abs(rx-x0) > tol || math.Abs(rx+rw-x1) > 2*tol {
			t.Errorf("%s: bucket at %v drawn over x %v–%v, want %v–%v", sc.ID, b.At.Seconds(), rx, rx+rw, x0, x1)
		}
		if b.P50 != nil && !hasSegment(line, x0, x1, y(*b.P50), tol) {
			t.Errorf("%s: no p50 step at %v (y %.1f over x %.1f–%.1f) in %v", sc.ID, *b.P50, y(*b.P50), x0, x1, line)
		}
		if b.Max != nil && !hasSegment(band, x0, x1, y(*b.Max), tol) {
			t.Errorf("%s: the max band does not reach %v over bucket at %v", sc.ID, *b.Max, b.At.Seconds())
		}
		if b.Failures > 0 {
			failing++
			barTop := top + h - math.Max(float64(b.Failures)/float64(b.N)*h, 2)
			if !hasSegment(bars, x0, x1, barTop, tol) {
				t.Errorf("%s: no failure bar up to y %.1f over bucket at %v (%d of %d failed)", sc.ID, barTop, b.At.Seconds(), b.Failures, b.N)
			}
		}
	}
	if k != len(rects) {
		t.Errorf("%s: %d bucket hover areas, want %d", sc.ID, len(rects), k)
	}
	// A bar is a top and a bottom edge.
	if len(bars) != 2*failing {
		t.Errorf("%s: %d failure bars, want one per bucket with failures: %d", sc.ID, len(bars)/2, failing)
	}
}

// segment is a horizontal stretch of a path, from x0 to x1 (x0 < x1).
type segment struct{ x0, x1, y float64 }

// segments reads the horizontal stretches of paths written with absolute
// M, H, V and Z commands only, as the chart writes them.
func segments(t *testing.T, paths []*html.Node) []segment {
	t.Helper()
	var out []segment
	for _, p := range paths {
		d := attr(p, "d")
		var cx, cy, sx, sy float64
		for i := 0; i < len(d); {
			cmd := d[i]
			j := i + 1
			for j < len(d) && !strings.ContainsRune("MHVZ", rune(d[j])) {
				j++
			}
			args := strings.Fields(d[i+1 : j])
			switch cmd {
			case 'M':
				cx, cy = float(t, args[0]), float(t, args[1])
				sx, sy = cx, cy
			case 'H':
				nx := float(t, args[0])
				out = append(out, segment{math.Min(cx, nx), math.Max(cx, nx), cy})
				cx = nx
			case 'V':
				cy = float(t, args[0])
			case 'Z':
				if cy == sy && cx != sx {
					out = append(out, segment{math.Min(cx, sx), math.Max(cx, sx), cy})
				}
				cx, cy = sx, sy
			default:
				t.Fatalf("path command %q in %q", cmd, d)
			}
			i = j
		}
	}
	return out
}

// hasSegment reports whether a segment at y covers x0..x1.
func hasSegment(ss []segment, x0, x1, y, tol float64) bool {
	for _, s := range ss {
		if math.Abs(s.y-y) <= tol && s.x0 <= x0+tol && s.x1 >= x1-tol {
			return true
		}
	}
	return false
}

// TestLatencyFallback: a results file from before the series (both real
// drills in testdata) reads with none and draws the whole-drill p50 and
// p99 as before; the same file with its series taken away draws flat too,
// and with them draws the series.
func TestLatencyFallback(t *testing.T) {
	for _, path := range []string{realDrill, realAPIServer} {
		f := readFile(t, path)
		for _, sc := range f.Scenarios {
			if sc.Timeline.LatencyWidth != 0 || sc.Timeline.Track(probe.DataPlane).Latency != nil {
				t.Errorf("%s %s: an old file read with a latency series", path, sc.ID)
			}
			if p := latencyPanelOf(&sc); p.mode != panelFlat {
				t.Errorf("%s %s: panel %q, want flat", path, sc.ID, p.mode)
			}
		}
	}
	f := readFile(t, realLatency)
	sc := &f.Scenarios[0]
	if p := latencyPanelOf(sc); p.mode != panelSeries || p.width != 1 || len(p.track.Latency) < 10 {
		t.Fatalf("the real drill's panel: %q of %d buckets of %v s", p.mode, len(p.track.Latency), p.width)
	}
	for i := range sc.Timeline.Probers {
		sc.Timeline.Probers[i].Latency = nil
	}
	sc.Timeline.LatencyWidth = 0
	if p := latencyPanelOf(sc); p.mode != panelFlat {
		t.Errorf("without its series: panel %q, want flat", p.mode)
	}
	doc, _ := render(t, f)
	checkLatency(t, findAll(doc, tag("svg", "timeline"))[0], sc)
	if !strings.Contains(text(findAll(doc, tag("figcaption"))[0]), "no latency series") {
		t.Error("the flat panel's legend does not say the file has no series")
	}
}

// TestLatencySeriesEdges: buckets in which every request failed, gaps
// where none started, latencies of 0 and a bucket past the end of the
// drill draw within the panel, and a series with no success at all says
// so.
func TestLatencySeriesEdges(t *testing.T) {
	s := func(v float64) timeline.Offset { return timeline.Offset(v * float64(time.Second)) }
	ms := func(v float64) *float64 { v /= 1000; return &v }
	tests := []struct {
		name    string
		buckets []timeline.LatencyBucket
		runs    int // of the p50 line
		nothing bool
	}{
		{"gap and failures", []timeline.LatencyBucket{
			{At: 0, N: 20, P50: ms(1), Max: ms(3)},
			{At: s(1), N: 20, Failures: 5, P50: ms(2), Max: ms(900)},
			{At: s(2), N: 20, Failures: 20},
			{At: s(3), N: 20, P50: ms(1), Max: ms(2)},
			{At: s(5), N: 20, P50: ms(1), Max: ms(2)},
			{At: s(9), N: 3, Failures: 1, P50: ms(0), Max: ms(0)}, // past the end: clipped
		}, 4, false},
		{"one bucket, all the same", []timeline.LatencyBucket{{At: 0, N: 1, P50: ms(1), Max: ms(1)}}, 1, false},
		{"nothing succeeded", []timeline.LatencyBucket{{At: 0, N: 2, Failures: 2}, {At: s(1), N: 2, Failures: 2}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &results.Scenario{ID: "apiserver-crash", Timeline: &timeline.Timeline{
				Duration: s(9.5), LatencyWidth: s(1),
				Probers: []timeline.Track{{Prober: probe.DataPlane, Samples: 100, Final: timeline.Up, Latency: tt.buckets}},
			}}
			doc, err := html.Parse(strings.NewReader(timelineSVG(sc)))
			if err != nil {
				t.Fatal(err)
			}
			svg := findAll(doc, tag("svg", "timeline"))[0]
			checkLatency(t, svg, sc)
			line := findAll(svg, tag("path", "latency-line"))
			var runs int
			if len(line) > 0 {
				runs = strings.Count(attr(line[0], "d"), "M")
			}
			if runs != tt.runs {
				t.Errorf("p50 line in %d runs, want %d", runs, tt.runs)
			}
			g := findAll(svg, tag("g", "latency"))[0]
			top, h := float(t, attr(g, "data-top")), float(t, attr(g, "data-height"))
			for _, sg := range segments(t, findAll(g, func(n *html.Node) bool { return n.Data == "path" })) {
				if sg.y < top-0.05 || sg.y > top+h+0.05 || sg.x0 < chartLeft-0.05 || sg.x1 > chartLeft+plotW+0.05 {
					t.Errorf("%+v outside the panel", sg)
				}
			}
			if got := strings.Contains(text(g), "no data-plane request succeeded"); got != tt.nothing {
				t.Errorf("says nothing succeeded: %v, want %v", got, tt.nothing)
			}
		})
	}
}

// TestLatencySeriesSizeBounded: the panel is as big for a day-long drill
// as for a 300-second one, as its series is capped.
func TestLatencySeriesSizeBounded(t *testing.T) {
	size := func(length time.Duration) int {
		var as []probe.Attempt
		for at := time.Duration(0); at < length; at += 500 * time.Millisecond {
			as = append(as, probe.Attempt{Prober: probe.DataPlane, Start: t0.Add(at), Duration: time.Duration(1+at%7) * time.Millisecond, OK: at%11 != 0})
		}
		tl := timeline.Build(t0, t0.Add(length), as, nil, timeline.Options{})
		if n := len(tl.Track(probe.DataPlane).Latency); n > timeline.MaxLatencyBuckets {
			t.Fatalf("%d buckets", n)
		}
		g := findAll(mustParse(t, timelineSVG(&results.Scenario{ID: "x", Timeline: tl})), tag("g", "latency"))
		if len(g) != 1 {
			t.Fatal("no latency panel")
		}
		var b strings.Builder
		_ = html.Render(&b, g[0])
		return b.Len()
	}
	short, long := size(300*time.Second), size(24*time.Hour)
	if long > short*11/10 || long > 120_000 {
		t.Errorf("latency panel of a day %d bytes, of 300 s %d: want it bounded", long, short)
	}
}

func mustParse(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestLogScale(t *testing.T) {
	ms := func(v float64) *float64 { v /= 1000; return &v }
	tests := []struct {
		name     string
		p50, max *float64
		grid     []string
	}{
		{"a narrow spread: 1, 2 and 5 lines", ms(1), ms(2), []string{"500 µs", "1 ms", "2 ms"}},
		{"a fault's spread: decades", ms(0.757), ms(152.69), []string{"1 ms", "10 ms", "100 ms"}},
		{"seconds", ms(3), ms(4000), []string{"10 ms", "100 ms", "1 s"}},
		{"zero latency is drawn at 1 µs", ms(0), ms(0), []string{"0.5 µs", "1 µs", "2 µs"}},
		{"nothing succeeded: 1 ms to 1 s", nil, nil, []string{"1 ms", "10 ms", "100 ms", "1 s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLogScale([]timeline.LatencyBucket{{N: 1, P50: tt.p50, Max: tt.max}}, 100, 64)
			var got []string
			for _, v := range s.grid() {
				got = append(got, gridLabel(v))
				if y := s.y(v); y < 100 || y > 164 {
					t.Errorf("grid line %v at y %v, outside the panel", v, y)
				}
			}
			if strings.Join(got, ", ") != strings.Join(tt.grid, ", ") {
				t.Errorf("grid %v, want %v", got, tt.grid)
			}
			if s.hi-s.lo < 1-1e-9 {
				t.Errorf("the scale spans %v decades, want at least one", s.hi-s.lo)
			}
			if tt.p50 != nil && (s.y(*tt.max) > s.y(*tt.p50) || s.y(*tt.max) <= 100) {
				t.Errorf("max at y %v, p50 at y %v: want max above p50, inside the panel", s.y(*tt.max), s.y(*tt.p50))
			}
		})
	}
}
