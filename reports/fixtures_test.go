package reports

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// The fixtures simulate drills' probe histories and turn them into results
// the way kdrill run does (timeline.Build, probe.Summarize, slo.Evaluate,
// results.NewScenario), so the reports are tested on files of the real
// shape, not hand-written JSON.

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// sim is one simulated prober.
type sim struct {
	name    string
	every   time.Duration
	latency time.Duration
	// down reports whether the attempt at offset at (the i-th) fails.
	down   func(at time.Duration, i int) bool
	detail string
}

// drill is one simulated drill.
type drill struct {
	id      string
	start   time.Time
	length  time.Duration
	probers []sim
	events  []timeline.Event // Time set, At left to timeline.Build
	bounds  *slo.Bounds      // nil: the built-in bounds of id
	writes  int              // acknowledged writes issued
	lost    int              // of those, how many are not read back
	rng     *rand.Rand
}

func between(from, to time.Duration) func(time.Duration, int) bool {
	return func(at time.Duration, _ int) bool { return at >= from && at < to }
}

func (d drill) event(at time.Duration, kind timeline.EventKind, source string, attrs map[string]string) timeline.Event {
	return timeline.Event{Time: d.start.Add(at), Kind: kind, Source: source, Attrs: attrs}
}

// scenario simulates the drill and evaluates it.
func (d drill) scenario() results.Scenario {
	if d.rng == nil {
		d.rng = rand.New(rand.NewPCG(1, 2))
	}
	var as []probe.Attempt
	for _, s := range d.probers {
		for i := 0; time.Duration(i)*s.every < d.length; i++ {
			at := time.Duration(i) * s.every
			a := probe.Attempt{
				Prober: s.name, Seq: uint64(i + 1), Start: d.start.Add(at),
				Duration: s.latency + time.Duration(d.rng.Int64N(int64(s.latency)+1)), OK: true,
			}
			if s.down != nil && s.down(at, i) {
				a.OK, a.Detail = false, s.detail
			} else if s.name == probe.DataPlane {
				a.Attrs = map[string]string{"pod": fmt.Sprintf("kdrill-echo-%d", i%2)}
			}
			as = append(as, a)
		}
	}
	tl := timeline.Build(d.start, d.start.Add(d.length), as, d.events, timeline.Options{Debounce: 2})
	var ws []ledger.Write
	var obs []ledger.Observed
	for i := range d.writes {
		start := d.start.Add(time.Duration(i) * time.Second)
		ws = append(ws, ledger.Write{Seq: uint64(i + 1), Start: start, Acked: start.Add(5 * time.Millisecond)})
		if i < d.writes/2 || i >= d.writes/2+d.lost {
			obs = append(obs, ledger.Observed{Seq: uint64(i + 1)})
		}
	}
	report := ledger.Verify(ws, obs)
	bounds := (*slo.Config)(nil).For(d.id)
	if d.bounds != nil {
		bounds = *d.bounds
	}
	in := slo.Input{Scenario: d.id, Bounds: bounds, Timeline: tl, Summaries: probe.Summarize(as), Writes: &report}
	return results.NewScenario(slo.Evaluate(in), in)
}

func file(scs ...results.Scenario) *results.File {
	return &results.File{
		Schema: results.Schema,
		Run: results.Run{
			KdrillVersion: "v0.1.0-test", Provider: "kind", KubernetesVersion: "v1.35.4",
			NodeImage: "kdrill/node:v1.35.4-3f2a9c1", Start: t0, End: t0.Add(time.Hour),
		},
		Scenarios: scs,
	}
}

// failedFile is a run with one failed, one errored and one passed
// scenario; details carry markup to check that it is escaped.
func failedFile() *results.File {
	apiDown := between(30*time.Second, 105*time.Second) // 75 s: the 60 s bound is missed
	zero := 0
	crash := drill{
		id: slo.APIServerCrash, start: t0, length: 2 * time.Minute, writes: 100, lost: 3,
		bounds: &slo.Bounds{MaxRTO: ptr(slo.Duration(time.Minute)), MinDataPlaneAvailability: ptr(0.995), MaxLostAcknowledgedWrites: &zero},
		probers: []sim{
			{name: probe.APIRead, every: time.Second, latency: 4 * time.Millisecond, down: apiDown, detail: `GET /readyz: connection refused <script>alert("x")</script>`},
			{name: probe.APIWrite, every: time.Second, latency: 9 * time.Millisecond, down: apiDown, detail: "create configmap: connection refused & more"},
			{name: probe.DataPlane, every: 100 * time.Millisecond, latency: time.Millisecond,
				down: func(at time.Duration, i int) bool { return at >= 40*time.Second && at < 42*time.Second }, detail: "GET /: timeout"},
		},
	}
	crash.events = []timeline.Event{
		crash.event(29500*time.Millisecond, timeline.FaultInjected, slo.APIServerCrash, map[string]string{"node": "kdrill-control-plane", "note": "<i>kill -9</i>"}),
		crash.event(31*time.Second, timeline.MitigationStarted, "kubelet", nil),
		crash.event(104*time.Second, timeline.MitigationFinished, "kubelet", nil),
		crash.event(110*time.Second, timeline.FaultReverted, slo.APIServerCrash, nil),
	}
	kubelet := drill{
		id: slo.KubeletCrash, start: t0.Add(5 * time.Minute), length: time.Minute, writes: 20,
		probers: []sim{
			{name: probe.Kubelet, every: 500 * time.Millisecond, latency: 70 * time.Millisecond, down: between(20*time.Second, 23*time.Second), detail: "healthz: exit status 7"},
			{name: probe.APIRead, every: time.Second, latency: 4 * time.Millisecond},
			{name: probe.DataPlane, every: 100 * time.Millisecond, latency: time.Millisecond},
		},
	}
	kubelet.events = []timeline.Event{
		kubelet.event(20*time.Second, timeline.FaultInjected, slo.KubeletCrash, nil),
		kubelet.event(23*time.Second, timeline.MitigationFinished, "systemd", map[string]string{"pid": "3133"}),
		kubelet.event(40*time.Second, timeline.FaultReverted, slo.KubeletCrash, nil),
	}
	return file(
		crash.scenario(),
		results.Errored(slo.EtcdDataLoss, fmt.Errorf("restore etcd: no backup found in /var/backups <none>")),
		kubelet.scenario(),
	)
}

// gameDay is a one-hour game day: five scenarios of twelve minutes,
// over 100,000 probe samples, with probers that flap for minutes (hundreds
// of state changes) besides the outages the faults cause, and a
// status-check event every five seconds.
func gameDay(tb testing.TB) *results.File {
	tb.Helper()
	rng := rand.New(rand.NewPCG(5, 100))
	const length = 12 * time.Minute
	var scs []results.Scenario
	for k, id := range slo.Scenarios() {
		fault := 2 * time.Minute
		rto := []time.Duration{40 * time.Second, 12 * time.Second, 4 * time.Minute, 6 * time.Minute, 3 * time.Minute}[k]
		apiDown := between(fault+time.Second, fault+rto)
		// The data plane drops two requests in a row every so often for
		// three minutes: a flapping lane of hundreds of transitions.
		flap := func(at time.Duration, i int) bool {
			return at >= fault && at < fault+3*time.Minute && i%7 < 2
		}
		d := drill{
			id: id, start: t0.Add(time.Duration(k) * length), length: length, writes: 700, rng: rng,
			probers: []sim{
				{name: probe.APIRead, every: time.Second, latency: 4 * time.Millisecond, down: apiDown, detail: "GET /readyz: connection refused"},
				{name: probe.APIWrite, every: time.Second, latency: 9 * time.Millisecond, down: apiDown, detail: "create configmap: connection refused"},
				{name: probe.DataPlane, every: 30 * time.Millisecond, latency: time.Millisecond, down: flap, detail: "GET /: context deadline exceeded"},
				{name: probe.Etcd, every: time.Second, latency: 12 * time.Millisecond, down: apiDown, detail: "status: deadline exceeded"},
				{name: probe.Kubelet, every: 500 * time.Millisecond, latency: 70 * time.Millisecond,
					down: func(at time.Duration, i int) bool { return at >= fault && at < fault+rto && i%5 < 2 }, detail: "healthz: exit status 7"},
				{name: probe.Scheduling, every: 5 * time.Second, latency: 2 * time.Second, down: apiDown, detail: "pod not running"},
			},
		}
		d.events = append(d.events,
			d.event(fault, timeline.FaultInjected, id, map[string]string{"node": "kdrill-control-plane"}),
			d.event(fault+rto/2, timeline.MitigationStarted, "watchdog", map[string]string{"action": "reboot"}),
			d.event(fault+rto/2+time.Second, timeline.MitigationFinished, "watchdog", nil),
			d.event(fault+rto+30*time.Second, timeline.FaultReverted, id, nil),
		)
		for at := 5 * time.Second; at < length; at += 5 * time.Second {
			d.events = append(d.events, d.event(at, "status-check", "watchdog", map[string]string{"ok": fmt.Sprint(at < fault || at > fault+rto)}))
		}
		scs = append(scs, d.scenario())
	}
	f := file(scs...)
	f.Run.End = f.Run.Start.Add(5 * length)
	if n := samples(f); n < 100_000 {
		tb.Fatalf("the game day has %d samples, want at least 100,000", n)
	}
	return f
}

func samples(f *results.File) int {
	n := 0
	for _, s := range f.Scenarios {
		if s.Timeline != nil {
			for _, tr := range s.Timeline.Probers {
				n += tr.Samples
			}
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }
