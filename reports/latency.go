package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/timeline"
)

// The data-plane latency panel under the lanes is drawn from the
// data-plane track's latency series when the results file has one, and
// from the whole-drill p50 and p99 of the prober's summary otherwise
// (files written before kdrill kept the series).
const (
	panelNone   = ""
	panelSeries = "series"
	panelFlat   = "flat"
)

// latencyPanel is what the latency panel of a chart is drawn from.
type latencyPanel struct {
	mode    string          // panelNone: no panel
	track   *timeline.Track // panelSeries
	summary *probe.Summary  // panelFlat
	width   float64         // panelSeries: seconds per bucket
}

// latencyPanelOf picks what sc's latency panel is drawn from.
func latencyPanelOf(sc *results.Scenario) latencyPanel {
	if tl := sc.Timeline; tl != nil && tl.LatencyWidth > 0 {
		if tr := tl.Track(probe.DataPlane); tr != nil && len(tr.Latency) > 0 {
			return latencyPanel{mode: panelSeries, track: tr, width: tl.LatencyWidth.Seconds()}
		}
	}
	for i := range sc.Probers {
		if s := &sc.Probers[i]; s.Prober == probe.DataPlane && s.LatencyP50 != nil && s.LatencyP99 != nil {
			return latencyPanel{mode: panelFlat, summary: s}
		}
	}
	return latencyPanel{}
}

// minLatency is the floor of the latency scale: a latency rounded to 0 µs
// is drawn at 1 µs.
const minLatency = 1e-6

// logScale maps latencies onto a panel on a log scale: latency spans
// orders of magnitude during a fault (a millisecond served, a second while
// a node drains), and a linear scale would flatten the typical request to
// the floor under the slowest. The panel spans the latencies drawn with a
// little room, and at least a decade.
type logScale struct {
	lo, hi float64 // log10 of the seconds at the bottom and the top
	top, h float64
	empty  bool // no latency to draw: the scale is a default
}

func newLogScale(bs []timeline.LatencyBucket, top, h float64) logScale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, b := range bs {
		for _, v := range []*float64{b.P50, b.Max} {
			if v != nil {
				x := math.Log10(math.Max(*v, minLatency))
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
	}
	s := logScale{top: top, h: h}
	if math.IsInf(lo, 1) {
		s.lo, s.hi, s.empty = -3, 0, true // 1 ms .. 1 s
		return s
	}
	lo, hi = lo-0.1, hi+0.1
	if d := 1 - (hi - lo); d > 0 {
		lo, hi = lo-d/2, hi+d/2
	}
	s.lo, s.hi = lo, hi
	return s
}

func (s logScale) y(v float64) float64 {
	f := (math.Log10(math.Max(v, minLatency)) - s.lo) / (s.hi - s.lo)
	return s.top + s.h - math.Min(math.Max(f, 0), 1)*s.h
}

// grid returns the latencies to draw grid lines at: the powers of ten in
// the scale, and their doubles and fives when it spans under a decade and
// a half (more would crowd the labels).
func (s logScale) grid() []float64 {
	steps := []float64{1}
	if s.hi-s.lo < 1.5 {
		steps = []float64{1, 2, 5}
	}
	var out []float64
	for d := math.Floor(s.lo); d <= math.Ceil(s.hi); d++ {
		for _, m := range steps {
			v := m * math.Pow(10, d)
			if l := math.Log10(v); l >= s.lo && l <= s.hi {
				out = append(out, v)
			}
		}
	}
	return out
}

// latencySeries draws the data-plane latency over time from the track's
// series: per bucket, the median of the successful requests as a stepped
// line, a band up to the slowest, a red bar from the bottom as high as
// the share of requests that failed, and a transparent hit area whose
// tooltip gives the bucket's figures. A bucket in which no request
// started leaves a gap. The series has at most timeline.MaxLatencyBuckets
// buckets, so the panel's size does not grow with the drill.
func (c *chart) latencySeries(tr *timeline.Track, y int) {
	w := c.tl.LatencyWidth.Seconds()
	sc := newLogScale(tr.Latency, float64(y), seriesH)
	c.printf(`<g class="latency" data-prober="%s" data-mode="series" data-bucket-seconds="%s" data-buckets="%d" data-log-range="%s %s" data-top="%d" data-height="%d">`,
		esc(tr.Prober), exact(w), len(tr.Latency), exact(sc.lo), exact(sc.hi), y, seriesH)
	c.printf(`<text class="lane-label" x="%d" y="%d">%s latency</text>`, chartLeft-8, y+14, esc(tr.Prober))
	c.printf(`<text class="lane-note" x="%d" y="%d">p50 and max per %s</text>`, chartLeft-8, y+26, esc(bucketWidth(w)))
	c.printf(`<text class="lane-note" x="%d" y="%d">log scale; red: failed</text>`, chartLeft-8, y+37)
	c.printf(`<rect class="latency-bg" x="%d" y="%d" width="%d" height="%d"/>`, chartLeft, y, plotW, seriesH)

	// The grid, labelled inside the right end.
	c.printf(`<g class="latency-grid">`)
	for _, v := range sc.grid() {
		ly := sc.y(v)
		c.printf(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text x="%d" y="%.1f">%s</text>`,
			chartLeft, ly, chartLeft+plotW, ly, chartLeft+plotW-3, ly+3, esc(gridLabel(v)))
	}
	c.printf(`</g>`)

	// xs returns a bucket's extent on the chart, clipped to it; ok is false
	// when the bucket lies outside.
	xs := func(b timeline.LatencyBucket) (x0, x1 float64, ok bool) {
		from, to := math.Max(b.At.Seconds(), c.lo), math.Min(b.At.Seconds()+w, c.hi)
		if to <= from {
			return 0, 0, false
		}
		return c.x(from), c.x(to), true
	}

	var failed, band, line strings.Builder
	bottom := float64(y + seriesH)
	for _, b := range tr.Latency {
		x0, x1, ok := xs(b)
		if ok && b.Failures > 0 && b.N > 0 {
			h := math.Max(float64(b.Failures)/float64(b.N)*seriesH, 2)
			fmt.Fprintf(&failed, "M%.1f %.1fH%.1fV%.1fH%.1fZ", x0, bottom, x1, bottom-h, x0)
		}
	}
	// Runs of adjacent buckets with latencies draw as one band and one
	// line each.
	for _, run := range latencyRuns(tr.Latency, w) {
		var pts []struct{ x0, x1, p50, max float64 }
		for _, b := range run {
			if x0, x1, ok := xs(b); ok {
				pts = append(pts, struct{ x0, x1, p50, max float64 }{x0, x1, sc.y(*b.P50), sc.y(*b.Max)})
			}
		}
		if len(pts) == 0 {
			continue
		}
		fmt.Fprintf(&band, "M%.1f %.1f", pts[0].x0, pts[0].max)
		fmt.Fprintf(&line, "M%.1f %.1f", pts[0].x0, pts[0].p50)
		for i, p := range pts {
			if i > 0 {
				fmt.Fprintf(&band, "V%.1f", p.max)
				fmt.Fprintf(&line, "V%.1f", p.p50)
			}
			fmt.Fprintf(&band, "H%.1f", p.x1)
			fmt.Fprintf(&line, "H%.1f", p.x1)
		}
		for i := len(pts) - 1; i >= 0; i-- {
			fmt.Fprintf(&band, "V%.1fH%.1f", pts[i].p50, pts[i].x0)
		}
		band.WriteString("Z")
	}
	if failed.Len() > 0 {
		c.printf(`<path class="latency-failed" d="%s"/>`, failed.String())
	}
	if band.Len() > 0 {
		c.printf(`<path class="latency-band" d="%s"/>`, band.String())
		c.printf(`<path class="latency-line" d="%s"/>`, line.String())
	}
	if sc.empty {
		c.printf(`<text class="latency-label" x="%.1f" y="%.1f">no %s request succeeded</text>`, float64(chartLeft+plotW)-40, float64(y)+seriesH/2, esc(tr.Prober))
	}

	// Hit areas last, on top, so that hovering anywhere in a bucket
	// shows its figures.
	for _, b := range tr.Latency {
		x0, x1, ok := xs(b)
		if !ok {
			continue
		}
		c.printf(`<rect class="latency-bucket" x="%.1f" y="%d" width="%.1f" height="%d" data-at="%s" data-n="%d" data-failures="%d" data-p50="%s" data-max="%s"><title>%s</title></rect>`,
			x0, y, x1-x0, seriesH, exact(b.At.Seconds()), b.N, b.Failures, optExact(b.P50), optExact(b.Max), esc(c.bucketTitle(b, w)))
	}
	c.printf(`</g>`)
}

// latencyRuns splits a series into runs of adjacent buckets that have
// latencies: a gap (no request started) or a bucket in which every
// request failed ends a run.
func latencyRuns(bs []timeline.LatencyBucket, w float64) [][]timeline.LatencyBucket {
	var out [][]timeline.LatencyBucket
	var run []timeline.LatencyBucket
	for _, b := range bs {
		if b.P50 == nil || b.Max == nil {
			if len(run) > 0 {
				out, run = append(out, run), nil
			}
			continue
		}
		if n := len(run); n > 0 && math.Abs(b.At.Seconds()-run[n-1].At.Seconds()-w) > w/1000 {
			out, run = append(out, run), nil
		}
		run = append(run, b)
	}
	if len(run) > 0 {
		out = append(out, run)
	}
	return out
}

func (c *chart) bucketTitle(b timeline.LatencyBucket, w float64) string {
	at := b.At.Seconds()
	s := fmt.Sprintf("%s to %s: %s request(s) started", rel(at-c.zero), rel(at+w-c.zero), count(b.N))
	switch {
	case b.Failures > 0 && b.Failures == b.N:
		s += ", all failed"
	case b.Failures > 0:
		s += fmt.Sprintf(", %s failed", count(b.Failures))
	}
	if b.P50 != nil && b.Max != nil {
		s += fmt.Sprintf("; successful ones p50 %s, max %s", latency(*b.P50), latency(*b.Max))
	}
	return s
}

// gridLabel names a grid line's latency in its own unit: "500 µs", "2 ms",
// "1 s".
func gridLabel(v float64) string {
	switch {
	case v >= 1:
		return num(v, 3) + " s"
	case v >= 1e-3:
		return num(v*1e3, 3) + " ms"
	}
	return num(v*1e6, 3) + " µs"
}

// bucketWidth names a bucket width: "1 s", "15 s", "5 min".
func bucketWidth(w float64) string {
	if w >= 60 && math.Mod(w, 60) == 0 {
		return num(w/60, 0) + " min"
	}
	return num(w, 3) + " s"
}

func optExact(v *float64) string {
	if v == nil {
		return ""
	}
	return exact(*v)
}

// latencyFlat draws the data-plane probe's latency from a results file
// without a series: its percentiles over the whole drill, as levels over
// the span the probe ran, and says so.
func (c *chart) latencyFlat(s *probe.Summary, y int) {
	tr := c.tl.Track(s.Prober)
	from, to := c.lo, c.hi
	if tr != nil && tr.Samples > 0 {
		from, to = tr.FirstSample.Seconds(), tr.LastSample.Seconds()
	}
	p50, p99 := *s.LatencyP50, *s.LatencyP99
	top := math.Max(p99, 1e-6) * 1.3
	yv := func(v float64) float64 { return float64(y+latencyH) - v/top*float64(latencyH) }
	c.printf(`<g class="latency" data-prober="%s" data-mode="flat">`, esc(s.Prober))
	c.printf(`<text class="lane-label" x="%d" y="%d">%s latency</text>`, chartLeft-8, y+14, esc(s.Prober))
	c.printf(`<text class="lane-note" x="%d" y="%d">whole-drill p50, p99</text>`, chartLeft-8, y+26)
	c.printf(`<rect class="latency-bg" x="%d" y="%d" width="%d" height="%d"/>`, chartLeft, y, plotW, latencyH)
	x0, x1 := c.x(from), c.x(to)
	for _, p := range []struct {
		name string
		v    float64
	}{{"p99", p99}, {"p50", p50}} {
		c.printf(`<line class="latency-%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"><title>%s</title></line>`,
			p.name, x0, yv(p.v), x1, yv(p.v), esc(fmt.Sprintf("%s %s over %s successful requests", p.name, latency(p.v), count(s.Successes))))
		// p99 is labelled above its line and p50 below, so the two do not
		// collide when they are close.
		ly := yv(p.v) - 3
		if p.name == "p50" {
			ly = yv(p.v) + 10
		}
		c.printf(`<text class="latency-label" x="%.1f" y="%.1f">%s %s</text>`, x1-4, ly, p.name, esc(latency(p.v)))
	}
	c.printf(`</g>`)
}
