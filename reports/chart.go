package reports

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Chart geometry in SVG user units; the SVG scales to the width of the page.
const (
	chartW       = 1000
	chartLeft    = 150 // room for the lane labels
	chartRight   = 14
	plotW        = chartW - chartLeft - chartRight
	labelRowH    = 12 // one row of marker labels above the lanes
	maxLabelRows = 6
	laneH        = 16
	laneGap      = 6
	latencyH     = 50 // the flat latency panel of a file without a series
	seriesH      = 64 // the latency panel drawn from a series
	axisH        = 28
	charW        = 6.0 // average width of a 10-unit label character, to keep labels apart
)

// Downsampling: a lane with at most maxExactBands state bands draws each
// band on its own, with a tooltip; a busier lane is reduced to
// laneColumns columns (under two device pixels each at print width) drawn as
// one path per state. Either way the SVG's size is bounded by the chart's
// width, not by the number of samples.
const (
	maxExactBands = 400
	laneColumns   = 500
)

// band is a span of seconds during which a prober was in one state. State
// "mixed" is a downsampled column in which it was down part of the time.
type band struct {
	from, to float64
	state    string
}

const mixed = "mixed"

// trackBands returns a track's states over [lo, hi]: unknown until its
// first transition, then each transition's state until the next one; the
// last state lasts until hi, as timeline.Outages has it.
func trackBands(tr *timeline.Track, lo, hi float64) []band {
	var out []band
	cur, at := string(timeline.Unknown), lo
	for _, x := range tr.Transitions {
		t := math.Min(math.Max(x.At.Seconds(), lo), hi)
		if t > at {
			out = append(out, band{at, t, cur})
			at = t
		}
		cur = string(x.To)
	}
	if hi > at {
		out = append(out, band{at, hi, cur})
	}
	return out
}

// downsample reduces bands to n equal columns over [lo, hi], each classed
// by what filled it: up, down or unknown if one state did, mixed if the
// prober was down for part of it; runs of equal columns merge.
func downsample(bs []band, lo, hi float64, n int) []band {
	w := (hi - lo) / float64(n)
	if w <= 0 {
		return bs
	}
	type fill struct{ up, down, unknown float64 }
	cols := make([]fill, n)
	for _, b := range bs {
		i0 := min(max(int((b.from-lo)/w), 0), n-1)
		i1 := min(max(int((b.to-lo)/w), 0), n-1)
		for i := i0; i <= i1; i++ {
			c0, c1 := lo+float64(i)*w, lo+float64(i+1)*w
			d := math.Min(b.to, c1) - math.Max(b.from, c0)
			if d <= 0 {
				continue
			}
			switch b.state {
			case string(timeline.Up):
				cols[i].up += d
			case string(timeline.Down):
				cols[i].down += d
			default:
				cols[i].unknown += d
			}
		}
	}
	var out []band
	for i, c := range cols {
		s := string(timeline.Up)
		switch {
		case c.down > 0 && c.up == 0 && c.unknown == 0:
			s = string(timeline.Down)
		case c.down > 0:
			s = mixed
		case c.up == 0:
			s = string(timeline.Unknown)
		}
		from, to := lo+float64(i)*w, lo+float64(i+1)*w
		if k := len(out) - 1; k >= 0 && out[k].state == s {
			out[k].to = to
			continue
		}
		out = append(out, band{from, to, s})
	}
	return out
}

// marker is a vertical line across the lanes with a label above them.
type marker struct {
	at    float64 // seconds since the timeline's start
	class string  // CSS class: fault-injected, fault-reverted, mitigation, recovery, deadline, event
	label string  // "" for an unlabelled tick
	title string  // tooltip

	// Where placeLabels put the label.
	row    int
	lx     float64
	anchor string
}

// chart draws one scenario's timeline.
type chart struct {
	sc     *results.Scenario
	tl     *timeline.Timeline
	lo, hi float64 // the x domain, seconds since tl.Start
	zero   float64 // the fault's injection (or lo): where relative times count from
	top    int     // y of the first lane, below the marker labels
	b      strings.Builder
}

// faultZero returns the first fault injection, from which the report counts
// relative times, and whether there was one.
func faultZero(tl *timeline.Timeline) (float64, bool) {
	if e, ok := tl.FirstEvent(timeline.FaultInjected); ok {
		return e.At.Seconds(), true
	}
	return 0, false
}

// timelineSVG renders sc's timeline as an inline SVG element.
func timelineSVG(sc *results.Scenario) string {
	tl := sc.Timeline
	c := &chart{sc: sc, tl: tl, lo: 0, hi: tl.Duration.Seconds()}
	for _, e := range tl.Events {
		c.lo, c.hi = math.Min(c.lo, e.At.Seconds()), math.Max(c.hi, e.At.Seconds())
	}
	for _, tr := range tl.Probers {
		if n := len(tr.Transitions); n > 0 {
			c.hi = math.Max(c.hi, tr.Transitions[n-1].At.Seconds())
		}
	}
	if c.hi <= c.lo {
		c.hi = c.lo + 1
	}
	c.zero = c.lo
	if z, ok := faultZero(tl); ok {
		c.zero = z
	}
	c.draw()
	return c.b.String()
}

func (c *chart) x(t float64) float64 {
	return chartLeft + (t-c.lo)/(c.hi-c.lo)*plotW
}

func (c *chart) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

func esc(s string) string { return html.EscapeString(s) }

func (c *chart) draw() {
	lanesH := len(c.tl.Probers) * (laneH + laneGap)
	panel := latencyPanelOf(c.sc)
	bodyH := lanesH
	switch panel.mode {
	case panelSeries:
		bodyH += seriesH + laneGap
	case panelFlat:
		bodyH += latencyH + laneGap
	}
	ms := c.markerList()
	c.top = c.placeLabels(ms)*labelRowH + 8
	height := c.top + bodyH + axisH
	bottom := float64(c.top + bodyH - laneGap)
	c.printf(`<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" data-from="%s" data-to="%s" role="img" aria-label="%s">`,
		chartW, height, exact(c.lo), exact(c.hi), esc("Timeline of "+c.sc.ID+": one lane per prober, up or down, with the fault window and markers"))
	c.printf(`<title>%s</title>`, esc("Timeline of "+c.sc.ID))

	// The fault windows go under everything else.
	for _, w := range faultWindows(c.tl, c.hi) {
		x0, x1 := c.x(w.from), c.x(w.to)
		c.printf(`<rect class="fault-window" x="%.1f" y="%d" width="%.1f" height="%.1f"><title>%s</title></rect>`,
			x0, c.top-4, math.Max(x1-x0, 1), bottom-float64(c.top)+8,
			esc(fmt.Sprintf("fault %s from %s to %s%s", w.source, rel(w.from-c.zero), rel(w.to-c.zero), map[bool]string{true: " (not reverted before the drill ended)"}[w.open])))
	}
	c.axis(float64(c.top), bottom)

	recovery := slo.RecoveryProbers(c.sc.ID)
	y := c.top
	for i := range c.tl.Probers {
		c.lane(&c.tl.Probers[i], y, slices.Contains(recovery, c.tl.Probers[i].Prober))
		y += laneH + laneGap
	}
	switch panel.mode {
	case panelSeries:
		c.latencySeries(panel.track, y)
	case panelFlat:
		c.latencyFlat(panel.summary, y)
	}
	c.markers(ms, bottom)
	c.printf(`</svg>`)
}

// window is a span during which a fault was in place.
type window struct {
	from, to float64
	source   string
	open     bool
}

// faultWindows pairs each fault-injected event with the next
// fault-reverted event from the same source; a fault never reverted lasts
// until end.
func faultWindows(tl *timeline.Timeline, end float64) []window {
	var out []window
	used := map[int]bool{}
	for i, e := range tl.Events {
		if e.Kind != timeline.FaultInjected {
			continue
		}
		w := window{from: e.At.Seconds(), to: end, source: e.Source, open: true}
		for j := i + 1; j < len(tl.Events); j++ {
			r := tl.Events[j]
			if r.Kind == timeline.FaultReverted && r.Source == e.Source && !used[j] {
				used[j] = true
				w.to, w.open = r.At.Seconds(), false
				break
			}
		}
		out = append(out, w)
	}
	return out
}

func (c *chart) lane(tr *timeline.Track, y int, recovery bool) {
	// States last until the end of the drill, not of the chart, which may
	// go on to show an event logged just after it.
	end := c.tl.Duration.Seconds()
	if n := len(tr.Transitions); n > 0 {
		end = math.Max(end, tr.Transitions[n-1].At.Seconds())
	}
	bs := trackBands(tr, c.lo, math.Min(end, c.hi))
	mode := "exact"
	if len(bs) > maxExactBands {
		mode = "downsampled"
	}
	outs := c.tl.Outages(tr.Prober)
	var down float64
	for _, o := range outs {
		down += o.Duration().Seconds()
	}
	c.printf(`<g class="lane" data-prober="%s" data-samples="%d" data-transitions="%d" data-outages="%d" data-mode="%s">`,
		esc(tr.Prober), tr.Samples, len(tr.Transitions), len(outs), mode)
	about := fmt.Sprintf("%s: %s samples, %d outage(s), down %s in all, final state %s", tr.Prober, count(tr.Samples), len(outs), span(down), tr.Final)
	if recovery {
		about += "; a recovery prober: the RTO waits for it"
	}
	if mode == "downsampled" {
		about += fmt.Sprintf("; %s state changes drawn at %d columns", count(len(tr.Transitions)), laneColumns)
	}
	cls := "lane-label"
	if recovery {
		cls += " recovery"
	}
	name := tr.Prober
	if tr.Samples == 0 {
		name += " (no samples)"
	}
	c.printf(`<text class="%s" x="%d" y="%d">%s<title>%s</title></text>`, cls, chartLeft-8, y+laneH-4, esc(name), esc(about))
	c.printf(`<rect class="lane-bg" x="%d" y="%d" width="%d" height="%d"/>`, chartLeft, y, plotW, laneH)
	if mode == "exact" {
		for _, b := range bs {
			c.band(b, y, tr)
		}
	} else {
		c.paths(downsample(bs, c.lo, math.Min(end, c.hi), laneColumns), y)
	}
	c.printf(`</g>`)
}

// bandY returns the vertical extent of a band: down fills the lane, up is
// a thinner bar and unknown a thin line, so states differ in shape as well
// as colour (grey print, colour blindness).
func bandY(state string, y int) (float64, float64) {
	switch state {
	case string(timeline.Down), mixed:
		return float64(y), laneH
	case string(timeline.Up):
		return float64(y) + 4, laneH - 8
	}
	return float64(y) + laneH/2 - 1.5, 3
}

func (c *chart) band(b band, y int, tr *timeline.Track) {
	x0, x1 := c.x(b.from), c.x(b.to)
	by, bh := bandY(b.state, y)
	if b.state != string(timeline.Down) {
		c.printf(`<rect class="band %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, b.state, x0, by, math.Max(x1-x0, 0.5), bh)
		return
	}
	title := fmt.Sprintf("%s down from %s to %s (%s)", tr.Prober, rel(b.from-c.zero), rel(b.to-c.zero), span(b.to-b.from))
	for _, x := range tr.Transitions {
		if x.To == timeline.Down && math.Abs(x.At.Seconds()-b.from) < 1e-9 && x.Detail != "" {
			title += ": " + x.Detail
			break
		}
	}
	c.printf(`<rect class="band down" x="%.1f" y="%.1f" width="%.1f" height="%.1f" data-from="%s" data-to="%s"><title>%s</title></rect>`,
		x0, by, math.Max(x1-x0, 1), bh, num(b.from, 3), num(b.to, 3), esc(title))
}

// paths draws downsampled bands as one path per state.
func (c *chart) paths(bs []band, y int) {
	for _, state := range []string{string(timeline.Up), string(timeline.Unknown), mixed, string(timeline.Down)} {
		var d strings.Builder
		for _, b := range bs {
			if b.state != state {
				continue
			}
			by, bh := bandY(state, y)
			x0, x1 := c.x(b.from), c.x(b.to)
			fmt.Fprintf(&d, "M%.1f %.1fh%.1fv%.1fh%.1fz", x0, by, x1-x0, bh, x0-x1)
		}
		if d.Len() > 0 {
			c.printf(`<path class="band %s" d="%s"/>`, state, d.String())
		}
	}
}

// markerList returns the fault, mitigation, recovery and SLO-deadline
// markers and a tick for every other event, in time order.
func (c *chart) markerList() []marker {
	var ms []marker
	var inject *timeline.Event
	for i, e := range c.tl.Events {
		t := e.At.Seconds()
		what := fmt.Sprintf("%s %s (%s) at %s", e.Kind, e.Source, attrsText(e.Attrs), rel(t-c.zero))
		switch e.Kind {
		case timeline.FaultInjected:
			if inject == nil {
				inject = &c.tl.Events[i]
			}
			ms = append(ms, marker{at: t, class: "fault-injected", label: "fault injected", title: what})
		case timeline.FaultReverted:
			ms = append(ms, marker{at: t, class: "fault-reverted", label: "fault reverted", title: what})
		case timeline.MitigationStarted:
			ms = append(ms, marker{at: t, class: "mitigation", label: "mitigation started (" + e.Source + ")", title: what})
		case timeline.MitigationFinished:
			ms = append(ms, marker{at: t, class: "mitigation", label: "mitigation finished (" + e.Source + ")", title: what})
		default:
			ms = append(ms, marker{at: t, class: "event", title: what})
		}
	}
	if inject != nil {
		t0 := inject.At.Seconds()
		if r := c.sc.RTOSeconds; r != nil && *r > 0 {
			ms = append(ms, marker{at: t0 + *r, class: "recovery", label: "recovered (RTO " + seconds(*r) + ")",
				title: fmt.Sprintf("every recovery prober back up %s after the fault (RTO)", seconds(*r))})
		}
		if b := c.sc.SLO.MaxRTOSeconds; b != nil {
			ms = append(ms, marker{at: t0 + *b, class: "deadline", label: "SLO deadline (RTO ≤ " + seconds(*b) + ")",
				title: fmt.Sprintf("the fault plus the RTO bound of %s", seconds(*b))})
		}
	}
	slices.SortStableFunc(ms, func(a, b marker) int { return cmp.Compare(a.at, b.at) })
	return ms
}

// placeLabels gives each labelled marker on the chart a row above the lanes
// and an anchor: labels start at their line and run right unless that would
// leave the chart, and go on the first row where they do not overlap the
// label before. It returns the number of rows used.
func (c *chart) placeLabels(ms []marker) int {
	rowEnd := make([]float64, 0, maxLabelRows)
	for i := range ms {
		m := &ms[i]
		if m.label == "" || m.at > c.hi {
			continue
		}
		x := c.x(m.at)
		w := float64(len([]rune(m.label)))*charW + 6
		m.lx, m.anchor = x+3, "start"
		l0, l1 := x, x+w
		if x+w > chartW {
			m.lx, m.anchor = x-3, "end"
			l0, l1 = x-w, x
		}
		m.row = -1
		for r, end := range rowEnd {
			if l0 > end {
				m.row = r
				break
			}
		}
		if m.row < 0 && len(rowEnd) < maxLabelRows {
			m.row = len(rowEnd)
			rowEnd = append(rowEnd, 0)
		}
		if m.row < 0 {
			// Every row is taken here: share the one that frees up first.
			m.row = 0
			for r := range rowEnd {
				if rowEnd[r] < rowEnd[m.row] {
					m.row = r
				}
			}
		}
		rowEnd[m.row] = l1
	}
	return max(len(rowEnd), 1)
}

// markers draws the markers as lines across the lanes with their labels
// above; a marker after the end of the drill (an SLO deadline the drill
// did not reach) points at itself from the right end of the axis instead
// of squeezing the drill into a corner.
func (c *chart) markers(ms []marker, bottom float64) {
	for _, m := range ms {
		x := c.x(m.at)
		c.printf(`<g class="marker %s" data-at="%s">`, m.class, num(m.at, 3))
		c.printf(`<title>%s</title>`, esc(m.title))
		switch {
		case m.label == "":
			c.printf(`<path d="M%.1f %dv%d"/></g>`, x, c.top-6, 6)
		case m.at > c.hi:
			c.printf(`<text class="offchart" x="%d" y="%.1f" text-anchor="end">%s</text></g>`,
				chartW-chartRight, bottom+axisH-1, esc(m.label+" at "+rel(m.at-c.zero)+", after the drill →"))
		default:
			c.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f"/>`, x, c.top-6, x, bottom+2)
			c.printf(`<text x="%.1f" y="%d" text-anchor="%s">%s</text></g>`, m.lx, 9+m.row*labelRowH, m.anchor, esc(m.label))
		}
	}
}

// axis draws the time grid, counting from the fault.
func (c *chart) axis(top, bottom float64) {
	step := niceStep((c.hi - c.lo) / 8)
	c.printf(`<g class="axis">`)
	k0 := int(math.Ceil((c.lo - c.zero) / step))
	k1 := int(math.Floor((c.hi - c.zero) / step))
	for k := k0; k <= k1; k++ {
		v := float64(k) * step
		x := c.x(c.zero + v)
		c.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, top-2, x, bottom+4)
		label := tickLabel(v, step)
		anchor := ""
		if x+float64(len([]rune(label)))*charW/2 > chartW {
			anchor = ` text-anchor="end"` // the last tick at the right edge
		}
		c.printf(`<text x="%.1f" y="%.1f"%s>%s</text>`, x, bottom+15, anchor, label)
	}
	what := "seconds since the fault was injected"
	if _, ok := faultZero(c.tl); !ok {
		what = "seconds since the drill started (no fault was injected)"
	}
	// The title sits left, leaving the right for a deadline after the drill.
	c.printf(`<text class="axis-title" x="%d" y="%.1f" text-anchor="start">%s</text>`, chartLeft, bottom+axisH-1, what)
	c.printf(`</g>`)
}

// niceStep picks a tick step of at least raw seconds that reads well.
func niceStep(raw float64) float64 {
	for _, s := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400} {
		if s >= raw {
			return s
		}
	}
	return math.Ceil(raw/3600) * 3600
}

func tickLabel(v, step float64) string {
	if v == 0 {
		return "0"
	}
	sign := "+"
	if v < 0 {
		sign, v = "−", -v
	}
	if step >= 60 && math.Mod(v, 60) == 0 {
		return sign + num(v/60, 0) + " min"
	}
	return sign + num(v, 1) + " s"
}
