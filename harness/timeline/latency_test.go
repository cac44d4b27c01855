package timeline

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/probe"
)

func TestLatencyWidth(t *testing.T) {
	tests := []struct {
		name        string
		length      time.Duration
		first, last time.Duration // of the attempts, from the start
		want        time.Duration
	}{
		{"a short drill: a second", 10 * time.Second, 0, 9 * time.Second, time.Second},
		{"90 s", 90 * time.Second, 0, 89 * time.Second, time.Second},
		{"exactly 300 buckets of a second", 300 * time.Second, 0, 299 * time.Second, time.Second},
		{"an attempt at the very end makes 301", 300 * time.Second, 0, 300 * time.Second, 2 * time.Second},
		{"12 minutes", 12 * time.Minute, 0, 12*time.Minute - time.Millisecond, 5 * time.Second},
		{"one hour", time.Hour, 0, time.Hour - time.Second, 15 * time.Second},
		{"a day", 24 * time.Hour, 0, 24*time.Hour - time.Second, 5 * time.Minute},
		{"two weeks", 14 * 24 * time.Hour, 0, 14*24*time.Hour - time.Second, 2 * time.Hour},
		{"attempts before the start count", 10 * time.Second, -400 * time.Second, 9 * time.Second, 2 * time.Second},
		{"attempts after the end count", 10 * time.Second, 0, 700 * time.Second, 5 * time.Second},
		{"end before start", -time.Second, 0, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := []probe.Attempt{{Start: t0.Add(tt.first)}, {Start: t0.Add(tt.last)}}
			w := latencyWidth(t0, t0.Add(tt.length), as)
			if w != tt.want {
				t.Errorf("width %v, want %v", w, tt.want)
			}
			if n := bucketOf(max(tt.last, tt.length-1), w) - bucketOf(min(tt.first, 0), w) + 1; n > MaxLatencyBuckets {
				t.Errorf("%d buckets of %v, want at most %d", n, w, MaxLatencyBuckets)
			}
		})
	}
}

func TestLatencySeries(t *testing.T) {
	ms := func(n float64) *float64 { v := n / 1000; return &v }
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	a := func(prober string, start float64, latency time.Duration, ok bool) probe.Attempt {
		return probe.Attempt{Prober: prober, Start: at(start), Duration: latency, OK: ok}
	}
	as := []probe.Attempt{
		// Bucket 0: three successes and a failure.
		a("p", 0.1, 3*time.Millisecond, true),
		a("p", 0.4, 1*time.Millisecond, true),
		a("p", 0.7, 2*time.Millisecond, true),
		a("p", 0.9, 5*time.Second, false),
		// Bucket 1: two successes; the median by nearest rank is the lower.
		a("p", 1.0, 4*time.Millisecond, true),
		a("p", 1.5, 8*time.Millisecond+400*time.Nanosecond, true),
		// Bucket 2: nothing started. Bucket 3: failures only.
		a("p", 3.2, 0, false),
		a("p", 3.3, 5*time.Second, false),
		// Bucket 4: one success, recorded out of order.
		a("p", 4.5, 1500*time.Microsecond, true),
		// Another prober's attempts do not mix in.
		a("q", 0.5, time.Second, true),
	}
	as[8], as[0] = as[0], as[8]
	tl := Build(t0, t0.Add(5*time.Second), as, nil, Options{Debounce: 1})
	if tl.LatencyWidth != sec(1) {
		t.Fatalf("bucket width %v, want 1 s", tl.LatencyWidth)
	}
	want := []LatencyBucket{
		{At: 0, N: 4, Failures: 1, P50: ms(2), Max: ms(3)},
		{At: sec(1), N: 2, P50: ms(4), Max: ms(8.0004)},
		{At: sec(3), N: 2, Failures: 2},
		{At: sec(4), N: 1, P50: ms(1.5), Max: ms(1.5)},
	}
	got := tl.Track("p").Latency
	if len(got) != len(want) {
		t.Fatalf("%d buckets %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.At != w.At || g.N != w.N || g.Failures != w.Failures || !sameSeconds(g.P50, w.P50) || !sameSeconds(g.Max, w.Max) {
			t.Errorf("bucket %d = %s, want %s", i, bucketText(g), bucketText(w))
		}
	}
	if q := tl.Track("q").Latency; len(q) != 1 || q[0].N != 1 || *q[0].Max != 1 {
		t.Errorf("q's series %+v, want its one attempt", q)
	}
	var n int
	for _, b := range got {
		n += b.N
	}
	if n != tl.Track("p").Samples {
		t.Errorf("buckets hold %d attempts, the track %d", n, tl.Track("p").Samples)
	}

	// A prober with no attempt has no series, and no attempt at all means
	// no bucket width either.
	empty := Build(t0, t0.Add(time.Minute), nil, nil, Options{Probers: []string{"p"}})
	if empty.LatencyWidth != 0 || empty.Track("p").Latency != nil {
		t.Errorf("no attempts: width %v, series %+v", empty.LatencyWidth, empty.Track("p").Latency)
	}
	b, _ := json.Marshal(empty)
	if strings.Contains(string(b), "latency") {
		t.Errorf("a timeline without a series mentions one: %s", b)
	}
}

// sameSeconds compares latencies to the microsecond they are rounded to.
func sameSeconds(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := *a - *b
	return d < 5e-7 && d > -5e-7
}

func bucketText(b LatencyBucket) string {
	s, _ := json.Marshal(b)
	return string(s)
}

// TestLatencyBounded: a day of ten samples a second still makes at most
// MaxLatencyBuckets buckets per prober, every attempt in one of them.
func TestLatencyBounded(t *testing.T) {
	const length = 24 * time.Hour
	as := make([]probe.Attempt, 0, int(length/(100*time.Millisecond)))
	for at := time.Duration(0); at < length; at += 100 * time.Millisecond {
		as = append(as, probe.Attempt{Prober: probe.DataPlane, Start: t0.Add(at), Duration: time.Millisecond, OK: true})
	}
	tl := Build(t0, t0.Add(length), as, nil, Options{})
	tr := tl.Track(probe.DataPlane)
	var n int
	for _, b := range tr.Latency {
		n += b.N
	}
	if len(tr.Latency) > MaxLatencyBuckets || n != len(as) {
		t.Errorf("%d buckets of %v holding %d of %d attempts", len(tr.Latency), tl.LatencyWidth, n, len(as))
	}
}

// TestLatencyJSON: the series round-trips, a bucket with no success has
// null latencies, and a timeline from before the series reads with none.
func TestLatencyJSON(t *testing.T) {
	as := attempts("p", "++--")
	for i := range as {
		as[i].Duration = 2 * time.Millisecond
	}
	tl := Build(t0, t0.Add(4*time.Second), as, nil, Options{Debounce: 1})
	b, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"latency_bucket_seconds":1`,
		`"latency":[{"at_seconds":0,"n":1,"failures":0,"p50_seconds":0.002,"max_seconds":0.002}`,
		`{"at_seconds":3,"n":1,"failures":1,"p50_seconds":null,"max_seconds":null}]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back Timeline
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Track("p").Latency, tl.Track("p").Latency) || back.LatencyWidth != tl.LatencyWidth {
		t.Errorf("round trip changed the series: %+v", back.Track("p").Latency)
	}

	old := `{"start":"2025-01-01T12:00:00Z","duration_seconds":4,"debounce":1,"probers":[{"prober":"p","samples":4,
		"first_sample_seconds":0,"last_sample_seconds":3,"transitions":[],"final":"up"}],"events":[]}`
	var o Timeline
	if err := json.Unmarshal([]byte(old), &o); err != nil {
		t.Fatal(err)
	}
	if o.LatencyWidth != 0 || o.Track("p").Latency != nil {
		t.Errorf("an old timeline read with a series: %v %+v", o.LatencyWidth, o.Track("p").Latency)
	}
}
