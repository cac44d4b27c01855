package drill

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Phase is a stage of one drill, in the order they happen.
type Phase string

// The phases of a drill.
const (
	// PhaseBaseline waits for every prober to pass, then probes the
	// healthy cluster for Options.Baseline.
	PhaseBaseline Phase = "baseline"
	// PhaseInject starts the mitigations that act by themselves (the
	// watchdog, the backups) and injects the fault.
	PhaseInject Phase = "inject"
	// PhaseRecover begins the instant the fault is in: the drill waits for
	// the mitigation to act and the probers to pass, within the RTO bound.
	PhaseRecover Phase = "recover"
	// PhaseTail probes the recovered cluster for Options.Tail.
	PhaseTail Phase = "tail"
	// PhaseRevert undoes the fault.
	PhaseRevert Phase = "revert"
	// PhaseVerify waits for the API, reads back the acknowledged writes
	// and judges the drill against the SLOs.
	PhaseVerify Phase = "verify"
	// PhaseDone is the drill over.
	PhaseDone Phase = "done"
)

// Status is a drill in progress, for people to watch.
type Status struct {
	Scenario string
	Phase    Phase
	Now      time.Time
	// Start is when the probers started.
	Start time.Time
	// Injected is when the fault went in; zero before.
	Injected time.Time
	// RTO is the scenario's RTO bound; zero when it has none.
	RTO time.Duration
	// Recovered is how long after the fault the cluster recovered; zero
	// until it has.
	Recovered time.Duration
	// Mitigation says how the mitigation acted, once it has.
	Mitigation string
	// Probers are in the order the drill started them.
	Probers []ProberStatus
}

// Elapsed is the time since the probers started.
func (s Status) Elapsed() time.Duration { return s.Now.Sub(s.Start) }

// RTOLeft is how much of the RTO bound remains while the drill waits for
// recovery (negative once it is exceeded). ok is false before the fault,
// after recovery, and for a scenario without an RTO bound.
func (s Status) RTOLeft() (left time.Duration, ok bool) {
	if s.Injected.IsZero() || s.RTO <= 0 || s.Recovered > 0 {
		return 0, false
	}
	return s.RTO - s.Now.Sub(s.Injected), true
}

// ProberStatus is one prober's state so far.
type ProberStatus struct {
	Name string
	// State is debounced as the timeline's is: it changes after
	// Options.Debounce agreeing results in a row.
	State     timeline.State
	Attempts  int
	Successes int
}

// Ratio is the share of attempts that succeeded; ok is false before the
// first attempt.
func (p ProberStatus) Ratio() (r float64, ok bool) {
	if p.Attempts == 0 {
		return 0, false
	}
	return float64(p.Successes) / float64(p.Attempts), true
}

// Narration says what a phase is about to do and what to watch while it
// does, for a person stepping through a drill.
type Narration struct {
	Do    string
	Watch string
}

// narrate describes phase from the scenario's plan.
func narrate(s Step, phase Phase, o Options) Narration {
	switch phase {
	case PhaseBaseline:
		return Narration{
			Do:    fmt.Sprintf("start the probers, wait until the cluster answers every one, then probe it healthy for %s", o.Baseline),
			Watch: "every prober turning up",
		}
	case PhaseInject:
		fault := s.Fault
		if o.ForceStop && s.ID == slo.VMShutdown {
			fault += " (forced: a power cut, not a clean stop)"
		}
		return Narration{
			Do:    "inject the fault: " + fault + "; the recovery clock starts at once",
			Watch: "must hold: " + s.MustHold + "; mitigation: " + s.Mitigation + "; SLO: " + s.SLO,
		}
	case PhaseTail:
		return Narration{
			Do:    fmt.Sprintf("keep probing the recovered cluster for %s, with the fault still in", o.Tail),
			Watch: "every prober staying up",
		}
	case PhaseRevert:
		return Narration{
			Do:    "stop the probers and revert the fault: " + s.Revert,
			Watch: "the cluster as the drill left it, before the revert",
		}
	case PhaseVerify:
		return Narration{
			Do:    "wait for the API, read back every acknowledged write and judge the drill",
			Watch: "SLO: " + s.SLO,
		}
	}
	return Narration{}
}

// reporter tallies probe attempts as they are recorded and hands the
// drill's Status to Options.Progress. It is a probe.Recorder in front of
// the drill's history, so a status costs nothing however long the drill.
type reporter struct {
	fn       func(Status)
	clock    clock.Clock
	hist     *probe.History
	debounce int

	mu      sync.Mutex // guards what follows and serialises calls to fn
	st      Status
	probers map[string]*tally
}

// tally is one prober's count and debounced state.
type tally struct {
	ProberStatus
	run    timeline.State // outcome of the current run of agreeing results
	runLen int
}

func newReporter(fn func(Status), clk clock.Clock, id string, hist *probe.History, debounce int, rto time.Duration, names []string) *reporter {
	r := &reporter{fn: fn, clock: clk, hist: hist, debounce: max(debounce, 1), probers: map[string]*tally{}}
	r.st = Status{Scenario: id, Start: clk.Now(), RTO: rto}
	for _, n := range names {
		t := &tally{ProberStatus: ProberStatus{Name: n, State: timeline.Unknown}}
		r.probers[n] = t
		r.st.Probers = append(r.st.Probers, t.ProberStatus)
	}
	return r
}

// Record implements probe.Recorder: it records a in the history and
// counts it.
func (r *reporter) Record(a probe.Attempt) {
	r.hist.Record(a)
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.probers[a.Prober]
	if !ok {
		t = &tally{ProberStatus: ProberStatus{Name: a.Prober, State: timeline.Unknown}}
		r.probers[a.Prober] = t
		r.st.Probers = append(r.st.Probers, t.ProberStatus)
	}
	t.Attempts++
	s := timeline.Down
	if a.OK {
		t.Successes++
		s = timeline.Up
	}
	if s != t.run {
		t.run, t.runLen = s, 0
	}
	t.runLen++
	if t.runLen >= r.debounce {
		t.State = s
	}
}

// phase moves the drill to p and reports it.
func (r *reporter) phase(p Phase) {
	r.update(func(s *Status) { s.Phase = p })
}

// update changes the status and reports it. A nil reporter (before the
// probers start) does nothing.
func (r *reporter) update(change func(*Status)) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	change(&r.st)
	r.emitLocked()
}

func (r *reporter) emit() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitLocked()
}

func (r *reporter) emitLocked() {
	if r.fn == nil {
		return
	}
	s := r.st
	s.Now = r.clock.Now()
	s.Probers = make([]ProberStatus, len(r.st.Probers))
	for i, p := range r.st.Probers {
		s.Probers[i] = r.probers[p.Name].ProberStatus
	}
	r.fn(s)
}

// tick reports the status every second until stop is called; stop waits
// for the ticking goroutine to end.
func (r *reporter) tick(ctx context.Context) (stop func()) {
	if r == nil || r.fn == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t := r.clock.NewTicker(time.Second)
	go func() {
		defer close(done)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
				r.emit()
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// rtoOf is the RTO bound of b, or zero.
func rtoOf(b slo.Bounds) time.Duration {
	if b.MaxRTO == nil {
		return 0
	}
	return b.MaxRTO.D()
}

func proberNames(ps []probe.Prober) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name()
	}
	return names
}
