package drill

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// statuses collects what a reporter hands to Options.Progress.
type statuses struct {
	mu   sync.Mutex
	list []Status
}

func (s *statuses) add(st Status) {
	s.mu.Lock()
	s.list = append(s.list, st)
	s.mu.Unlock()
}

func (s *statuses) last() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list[len(s.list)-1]
}

func (s *statuses) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.list)
}

func TestReporter(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	var got statuses
	var hist probe.History
	r := newReporter(got.add, clk, slo.APIServerCrash, &hist, 2, time.Minute, []string{probe.DataPlane, probe.APIWrite})
	attempt := func(name string, ok bool) {
		r.Record(probe.Attempt{Prober: name, Start: clk.Now(), OK: ok})
	}

	r.phase(PhaseBaseline)
	s := got.last()
	if s.Phase != PhaseBaseline || s.Scenario != slo.APIServerCrash || len(s.Probers) != 2 || s.Probers[0].State != timeline.Unknown {
		t.Fatalf("first status %+v", s)
	}
	if _, ok := s.Probers[0].Ratio(); ok {
		t.Error("Ratio() before any attempt: want ok false")
	}
	if _, ok := s.RTOLeft(); ok {
		t.Error("RTOLeft() before the fault: want ok false")
	}

	attempt(probe.DataPlane, true)
	attempt(probe.DataPlane, true)
	attempt(probe.APIWrite, true)
	attempt(probe.APIWrite, false) // one failure: below the debounce
	clk.Advance(10 * time.Second)
	r.update(func(s *Status) { s.Injected, s.Phase = clk.Now(), PhaseRecover })
	attempt(probe.APIWrite, false)
	attempt(probe.APIWrite, false)
	clk.Advance(15 * time.Second)
	r.emit()
	s = got.last()
	if s.Phase != PhaseRecover || s.Elapsed() != 25*time.Second {
		t.Errorf("phase %s, elapsed %s", s.Phase, s.Elapsed())
	}
	if dp := s.Probers[0]; dp.Name != probe.DataPlane || dp.State != timeline.Up || dp.Attempts != 2 || dp.Successes != 2 {
		t.Errorf("data-plane %+v", dp)
	}
	w := s.Probers[1]
	if r, _ := w.Ratio(); w.State != timeline.Down || w.Attempts != 4 || r != 0.25 {
		t.Errorf("api-write %+v, ratio %v", w, r)
	}
	if left, ok := s.RTOLeft(); !ok || left != 45*time.Second {
		t.Errorf("RTOLeft() = %v, %v; want 45s", left, ok)
	}
	clk.Advance(time.Minute)
	r.emit()
	if left, _ := got.last().RTOLeft(); left != -15*time.Second {
		t.Errorf("RTOLeft() past the bound = %v, want -15s", left)
	}
	r.update(func(s *Status) { s.Recovered = 70 * time.Second })
	if _, ok := got.last().RTOLeft(); ok {
		t.Error("RTOLeft() after recovery: want ok false")
	}
	if n := len(hist.Attempts()); n != 6 {
		t.Errorf("history holds %d attempts, want every one recorded (6)", n)
	}

	// A status is a copy: later attempts do not change one handed out.
	before := got.last()
	attempt(probe.DataPlane, false)
	if before.Probers[0].Attempts != 2 {
		t.Error("a status handed out changed afterwards")
	}
}

func TestReporterTicks(t *testing.T) {
	clk := clock.NewFake(time.Now())
	var got statuses
	r := newReporter(got.add, clk, slo.VMShutdown, &probe.History{}, 2, 0, nil)
	stop := r.tick(context.Background())
	if !clk.WaitTickers(nil, 1) {
		t.Fatal("no ticker")
	}
	for i := 1; i <= 3; i++ {
		clk.Advance(time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for got.len() < i && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	stop() // returns only once the goroutine has ended
	if n := got.len(); n != 3 {
		t.Errorf("%d statuses after 3 ticks, want 3", n)
	}
	if clk.Tickers() != 0 {
		t.Error("ticker not stopped")
	}

	var none *reporter
	none.phase(PhaseDone) // before the probers start there is no reporter
	silent := newReporter(nil, clk, slo.VMShutdown, &probe.History{}, 2, 0, nil)
	silent.tick(context.Background())()
	silent.phase(PhaseBaseline)
}

func TestNarrate(t *testing.T) {
	o := Options{}.withDefaults()
	for _, id := range Scenarios() {
		s, err := Plan(id, "c-control-plane", o)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []Phase{PhaseBaseline, PhaseInject, PhaseTail, PhaseRevert, PhaseVerify} {
			n := narrate(s, p, o)
			if n.Do == "" || n.Watch == "" {
				t.Errorf("%s %s: narration %+v", id, p, n)
			}
		}
		if n := narrate(s, PhaseInject, o); !strings.Contains(n.Do, s.Fault) || !strings.Contains(n.Watch, s.MustHold) || !strings.Contains(n.Watch, s.SLO) {
			t.Errorf("%s inject: %+v does not say what the plan says", id, n)
		}
		if n := narrate(s, PhaseRevert, o); !strings.Contains(n.Do, s.Revert) {
			t.Errorf("%s revert: %+v", id, n)
		}
	}
}

// TestEnter checks the phase boundaries: BeforePhase is asked before each,
// an error from it stops the drill, and once stopped no one is asked again.
func TestEnter(t *testing.T) {
	var asked []Phase
	hook := func(_ context.Context, id string, p Phase, n Narration) error {
		asked = append(asked, p)
		if id != slo.VMShutdown || n.Do == "" {
			t.Errorf("BeforePhase(%q, %s, %+v)", id, p, n)
		}
		if p == PhaseRevert {
			return errors.New("standard input ended")
		}
		return nil
	}
	o := Options{BeforePhase: hook, ForceStop: true}.withDefaults()
	step, _ := Plan(slo.VMShutdown, "cp", o)
	var got statuses
	d := &run{id: slo.VMShutdown, o: o, step: step}
	d.rep = newReporter(got.add, clock.NewFake(time.Now()), d.id, &probe.History{}, 2, 0, nil)
	ctx := context.Background()
	for _, p := range []Phase{PhaseInject, PhaseTail} {
		if err := d.enter(ctx, p); err != nil {
			t.Fatalf("enter(%s) = %v", p, err)
		}
		if got.last().Phase != p {
			t.Errorf("status phase %s after enter(%s)", got.last().Phase, p)
		}
	}
	err := d.enter(ctx, PhaseRevert)
	if err == nil || err.Error() != "stopped before revert: standard input ended" {
		t.Fatalf("enter(revert) = %v", err)
	}
	if got.last().Phase != PhaseRevert {
		t.Error("a stopped drill still reports the phase it goes on to (the revert runs regardless)")
	}
	if err := d.enter(ctx, PhaseVerify); err == nil || len(asked) != 3 {
		t.Errorf("enter(verify) after a stop = %v, asked %v: want no more questions", err, asked)
	}
	if n := narrate(step, PhaseInject, o); !strings.Contains(n.Do, "forced: a power cut") {
		t.Errorf("inject narration %q does not say the stop is forced", n.Do)
	}

	// Without a hook, an interrupt before the fault stops the drill.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	d = &run{id: slo.KubeletCrash, o: Options{}.withDefaults()}
	if err := d.enter(cctx, PhaseInject); err == nil || !strings.Contains(err.Error(), "interrupted before inject") {
		t.Errorf("enter(inject) after Ctrl-C = %v", err)
	}
}
