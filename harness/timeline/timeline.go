package timeline

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/kdrill/kdrill/harness/probe"
)

// State is what a prober last settled on.
type State string

// The states of a prober. A prober is Unknown until it has Debounce
// consecutive results that agree.
const (
	Unknown State = "unknown"
	Up      State = "up"
	Down    State = "down"
)

// Transition is a prober settling on a new state. At is the start of the
// first attempt of the run of results that made it settle, so a transition
// is placed within one probe interval of the real change however large the
// debounce.
type Transition struct {
	At     Offset    `json:"at_seconds"`
	Time   time.Time `json:"time"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Detail string    `json:"detail,omitempty"` // that first attempt's detail
}

// Track is one prober's part of the timeline.
type Track struct {
	Prober  string `json:"prober"`
	Samples int    `json:"samples"`
	// FirstSample and LastSample are the starts of the first and last
	// attempts; zero when there were none.
	FirstSample Offset       `json:"first_sample_seconds"`
	LastSample  Offset       `json:"last_sample_seconds"`
	Transitions []Transition `json:"transitions"`
	Final       State        `json:"final"`
	// Latency is the prober's latency over time: one bucket per
	// Timeline.LatencyWidth in which at least one attempt started, in
	// order. Absent in files written before kdrill kept it.
	Latency []LatencyBucket `json:"latency,omitempty"`
}

// LatencyBucket condenses the attempts of one prober that started in one
// bucket of time: [At, At+Timeline.LatencyWidth).
type LatencyBucket struct {
	At       Offset `json:"at_seconds"` // the bucket's start
	N        int    `json:"n"`          // attempts started in the bucket
	Failures int    `json:"failures"`   // of those, how many failed (or were skipped)
	// P50 and Max are the median (nearest rank) and the largest latency of
	// the successful attempts, in seconds rounded to the microsecond; nil
	// when none succeeded. Failures are left out, as in probe.Summary,
	// because their latency is mostly the timeout.
	P50 *float64 `json:"p50_seconds"`
	Max *float64 `json:"max_seconds"`
}

// Timeline is what happened during one drill.
type Timeline struct {
	Start    time.Time `json:"start"`
	Duration Offset    `json:"duration_seconds"`
	// Debounce is how many consecutive agreeing results a prober needed to
	// change state.
	Debounce int `json:"debounce"`
	// LatencyWidth is the width of the buckets of every track's Latency;
	// zero when no track has one.
	LatencyWidth Offset  `json:"latency_bucket_seconds,omitempty"`
	Probers      []Track `json:"probers"`
	Events       []Event `json:"events"`
}

// Options tune Build.
type Options struct {
	// Debounce is how many consecutive agreeing results change a prober's
	// state; values below 1 mean 1.
	Debounce int
	// Probers to give a track even if they recorded no attempt, so that
	// "no samples" shows in the timeline instead of a missing prober.
	Probers []string
}

// Build makes the timeline of a drill that ran from start to end out of the
// attempts the probers recorded and the events logged. Offsets are taken
// from start, so pass times from the same clock.
func Build(start, end time.Time, attempts []probe.Attempt, events []Event, o Options) *Timeline {
	if o.Debounce < 1 {
		o.Debounce = 1
	}
	t := &Timeline{
		Start:    start,
		Duration: Offset(end.Sub(start)),
		Debounce: o.Debounce,
		Probers:  []Track{},
		Events:   []Event{},
	}
	// A drill can have a million samples: group them by prober as
	// pointers and sort only those groups that are out of order (attempts
	// are recorded as they finish, so they are nearly in order already).
	groups := map[string][]*probe.Attempt{}
	for _, n := range o.Probers {
		groups[n] = nil
	}
	for i := range attempts {
		groups[attempts[i].Prober] = append(groups[attempts[i].Prober], &attempts[i])
	}
	byStart := func(a, b *probe.Attempt) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	}
	if len(attempts) > 0 {
		t.LatencyWidth = Offset(latencyWidth(start, end, attempts))
	}
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		as := groups[name]
		if !slices.IsSortedFunc(as, byStart) {
			slices.SortFunc(as, byStart)
		}
		d := debouncer{n: o.Debounce, start: start, t: Track{Prober: name, Transitions: []Transition{}, Final: Unknown}}
		for _, a := range as {
			d.add(a)
		}
		d.t.Latency = latencySeries(as, start, t.LatencyWidth.Duration())
		t.Probers = append(t.Probers, d.t)
	}
	for _, e := range events {
		e.At = Offset(e.Time.Sub(start))
		t.Events = append(t.Events, e)
	}
	slices.SortStableFunc(t.Events, func(a, b Event) int { return cmp.Compare(a.At, b.At) })
	return t
}

// debouncer builds one prober's track from its attempts in start order.
type debouncer struct {
	n      int // debounce
	start  time.Time
	t      Track
	run    State // outcome of the current run of agreeing results
	runLen int
	first  *probe.Attempt // first attempt of the current run
}

func (d *debouncer) add(a *probe.Attempt) {
	at := Offset(a.Start.Sub(d.start))
	if d.t.Samples == 0 {
		d.t.FirstSample = at
	}
	d.t.Samples++
	d.t.LastSample = at
	s := Down
	if a.OK {
		s = Up
	}
	if s != d.run || d.first == nil {
		d.run, d.runLen, d.first = s, 0, a
	}
	d.runLen++
	if s != d.t.Final && d.runLen >= d.n {
		d.t.Transitions = append(d.t.Transitions, Transition{
			At:     Offset(d.first.Start.Sub(d.start)),
			Time:   d.first.Start,
			From:   d.t.Final,
			To:     s,
			Detail: d.first.Detail,
		})
		d.t.Final = s
	}
}

// Track returns the track of the named prober, or nil.
func (t *Timeline) Track(prober string) *Track {
	for i := range t.Probers {
		if t.Probers[i].Prober == prober {
			return &t.Probers[i]
		}
	}
	return nil
}

// FirstEvent returns the earliest event of kind, if any.
func (t *Timeline) FirstEvent(kind EventKind) (Event, bool) {
	for _, e := range t.Events {
		if e.Kind == kind {
			return e, true
		}
	}
	return Event{}, false
}

// Outage is a span during which a prober was settled Down.
type Outage struct {
	Prober string `json:"prober"`
	Start  Offset `json:"start_seconds"`
	End    Offset `json:"end_seconds"`
	// Open means the prober was still down when the drill ended; End is
	// then the end of the drill.
	Open   bool   `json:"open,omitempty"`
	Detail string `json:"detail,omitempty"` // the first failure's detail
}

// Duration is how long the outage lasted (so far, if Open).
func (o Outage) Duration() time.Duration { return time.Duration(o.End - o.Start) }

// Outages returns the named prober's outages in order.
func (t *Timeline) Outages(prober string) []Outage {
	tr := t.Track(prober)
	if tr == nil {
		return nil
	}
	var out []Outage
	var cur *Outage
	for _, x := range tr.Transitions {
		switch {
		case x.To == Down && cur == nil:
			cur = &Outage{Prober: prober, Start: x.At, Detail: x.Detail}
		case x.To != Down && cur != nil:
			cur.End = x.At
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		cur.End = max(t.Duration, cur.Start)
		cur.Open = true
		out = append(out, *cur)
	}
	return out
}
