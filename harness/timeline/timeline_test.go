package timeline

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/probe"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// attempts turns a pattern into attempts one second apart from t0: '+' is a
// success, '-' a failure whose detail is "fail@<index>".
func attempts(prober, pattern string) []probe.Attempt {
	var out []probe.Attempt
	for i, c := range pattern {
		a := probe.Attempt{Prober: prober, Seq: uint64(i + 1), Start: t0.Add(time.Duration(i) * time.Second), OK: c == '+'}
		if !a.OK {
			a.Detail = fmt.Sprintf("fail@%d", i)
		}
		out = append(out, a)
	}
	return out
}

func sec(n float64) Offset { return Offset(n * float64(time.Second)) }

func TestDebounce(t *testing.T) {
	type tr struct {
		at   float64
		from State
		to   State
	}
	type out struct {
		start, end float64
		open       bool
	}
	tests := []struct {
		name     string
		pattern  string
		debounce int
		want     []tr
		final    State
		outages  []out
	}{
		{"no samples", "", 3, nil, Unknown, nil},
		{"fewer samples than the debounce", "++", 3, nil, Unknown, nil},
		{"healthy", "+++++", 3, []tr{{0, Unknown, Up}}, Up, nil},
		{"outage in the middle", "+++----+++", 3,
			[]tr{{0, Unknown, Up}, {3, Up, Down}, {7, Down, Up}}, Up, []out{{3, 7, false}}},
		{"blip shorter than the debounce", "+++--+++", 3, []tr{{0, Unknown, Up}}, Up, nil},
		{"blip with debounce 1", "+++--+++", 1,
			[]tr{{0, Unknown, Up}, {3, Up, Down}, {5, Down, Up}}, Up, []out{{3, 5, false}}},
		{"flapping never settles", "+-+-+-+-+-", 2, nil, Unknown, nil},
		{"flapping after settling", "+++-+-+-+-", 2, []tr{{0, Unknown, Up}}, Up, nil},
		{"flapping with debounce 1", "+-+-", 1,
			[]tr{{0, Unknown, Up}, {1, Up, Down}, {2, Down, Up}, {3, Up, Down}}, Down,
			[]out{{1, 2, false}, {3, 9, true}}},
		{"outage at the very start", "---+++", 3,
			[]tr{{0, Unknown, Down}, {3, Down, Up}}, Up, []out{{0, 3, false}}},
		{"outage at the very end", "+++---", 3,
			[]tr{{0, Unknown, Up}, {3, Up, Down}}, Down, []out{{3, 9, true}}},
		{"down throughout", "-----", 2, []tr{{0, Unknown, Down}}, Down, []out{{0, 9, true}}},
		{"failures at the end below the debounce", "+++--", 3, []tr{{0, Unknown, Up}}, Up, nil},
		{"zero debounce means one", "+-", 0, []tr{{0, Unknown, Up}, {1, Up, Down}}, Down, []out{{1, 9, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := attempts("p", tt.pattern)
			// Attempts finish out of order; Build must not care.
			for i, j := 0, len(as)-1; i < j; i, j = i+1, j-1 {
				as[i], as[j] = as[j], as[i]
			}
			tl := Build(t0, t0.Add(9*time.Second), as, nil, Options{Debounce: tt.debounce, Probers: []string{"p"}})
			track := tl.Track("p")
			if track == nil {
				t.Fatal("no track for p")
			}
			if track.Samples != len(tt.pattern) {
				t.Errorf("samples %d, want %d", track.Samples, len(tt.pattern))
			}
			var got []tr
			for _, x := range track.Transitions {
				got = append(got, tr{x.At.Seconds(), x.From, x.To})
				if !x.Time.Equal(t0.Add(x.At.Duration())) {
					t.Errorf("transition time %v does not match offset %v", x.Time, x.At)
				}
				if x.To == Down && x.Detail != fmt.Sprintf("fail@%d", int(x.At.Seconds())) {
					t.Errorf("down transition detail %q, want the first failure's", x.Detail)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("transitions %v, want %v", got, tt.want)
			}
			if track.Final != tt.final {
				t.Errorf("final %s, want %s", track.Final, tt.final)
			}
			var outs []out
			for _, o := range tl.Outages("p") {
				outs = append(outs, out{o.Start.Seconds(), o.End.Seconds(), o.Open})
				if o.Duration() != (o.End - o.Start).Duration() {
					t.Errorf("outage duration %v", o.Duration())
				}
			}
			if !reflect.DeepEqual(outs, tt.outages) {
				t.Errorf("outages %v, want %v", outs, tt.outages)
			}
		})
	}
}

func TestBuildTracksAndEvents(t *testing.T) {
	as := append(attempts("b", "++"), attempts("a", "--")...)
	events := []Event{
		{Time: t0.Add(5 * time.Second), Kind: FaultReverted, Source: "apiserver-crash"},
		{Time: t0.Add(2 * time.Second), Kind: FaultInjected, Source: "apiserver-crash", Attrs: map[string]string{"node": "cp"}},
	}
	tl := Build(t0, t0.Add(10*time.Second), as, events, Options{Debounce: 1, Probers: []string{"c"}})
	var names []string
	for _, tr := range tl.Probers {
		names = append(names, tr.Prober)
	}
	if !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
		t.Errorf("tracks %v, want a b c sorted, c without samples", names)
	}
	if tl.Track("missing") != nil || tl.Outages("missing") != nil {
		t.Error("a prober never seen has a track")
	}
	if tr := tl.Track("b"); tr.FirstSample != 0 || tr.LastSample != sec(1) {
		t.Errorf("b samples %v..%v, want 0..1s", tr.FirstSample, tr.LastSample)
	}
	if tl.Events[0].Kind != FaultInjected || tl.Events[0].At != sec(2) || tl.Events[1].At != sec(5) {
		t.Errorf("events %+v, want sorted with offsets", tl.Events)
	}
	if e, ok := tl.FirstEvent(FaultReverted); !ok || e.At != sec(5) {
		t.Errorf("FirstEvent(reverted) = %+v %v", e, ok)
	}
	if _, ok := tl.FirstEvent(MitigationStarted); ok {
		t.Error("FirstEvent found an event that did not happen")
	}
	if tl.Duration != sec(10) {
		t.Errorf("duration %v", tl.Duration)
	}
}

func TestTimelineJSON(t *testing.T) {
	as := attempts(probe.APIRead, "++---++")
	events := []Event{{Time: t0.Add(1500 * time.Millisecond), Kind: FaultInjected, Source: "apiserver-crash", Attrs: map[string]string{"container": "abc"}}}
	tl := Build(t0, t0.Add(7*time.Second), as, events, Options{Debounce: 2})
	b, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	var back Timeline
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Errorf("round trip changed the JSON:\n%s\n%s", b, b2)
	}
	if back.Events[0].At != sec(1.5) || back.Outages(probe.APIRead)[0].Start != sec(2) {
		t.Errorf("after round trip: event at %v, outage %+v", back.Events[0].At, back.Outages(probe.APIRead))
	}
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	if raw["duration_seconds"] != 7.0 {
		t.Errorf("duration_seconds = %v, want 7", raw["duration_seconds"])
	}
}

func TestOffsetJSON(t *testing.T) {
	for _, bad := range []string{`"3s"`, `1e300`, `null x`} {
		var o Offset
		if err := json.Unmarshal([]byte(bad), &o); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, o)
		}
	}
	var o Offset
	if err := json.Unmarshal([]byte(`0.25`), &o); err != nil || o.Duration() != 250*time.Millisecond {
		t.Errorf("Unmarshal(0.25) = %v, %v", o, err)
	}
}
