package probe

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/internal/leaktest"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeProber answers from fn; calls counts its attempts.
type fakeProber struct {
	name  string
	s     Schedule
	calls atomic.Int64
	fn    func(ctx context.Context) Result
}

func (p *fakeProber) Name() string       { return p.name }
func (p *fakeProber) Schedule() Schedule { return p.s }
func (p *fakeProber) Probe(ctx context.Context) Result {
	p.calls.Add(1)
	return p.fn(ctx)
}

func ok(context.Context) Result { return Result{OK: true} }

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// start runs probers on a fake clock until the test ends.
func start(t *testing.T, clk *clock.Fake, probers ...Prober) (*History, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &History{}
	done := make(chan error, 1)
	r := &Runner{Clock: clk}
	go func() {
		done <- r.Run(ctx, h, probers...)
		close(done) // so that both the test and the cleanup can wait on it
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if !clk.WaitTickers(ctx.Done(), len(probers)) {
		t.Fatal("runner stopped before starting its tickers")
	}
	return h, cancel, done
}

func count(h *History, prober string) int {
	n := 0
	for _, a := range h.Attempts() {
		if a.Prober == prober {
			n++
		}
	}
	return n
}

func TestRunnerFixedRate(t *testing.T) {
	leaktest.Check(t)
	clk := clock.NewFake(t0)
	fast := &fakeProber{name: "fast", s: Schedule{Interval: time.Second}, fn: ok}
	slow := &fakeProber{name: "slow", s: Schedule{Interval: 3 * time.Second}, fn: ok}
	h, _, _ := start(t, clk, fast, slow)

	waitFor(t, "the first attempts", func() bool { return len(h.Attempts()) == 2 })
	for i := 1; i <= 6; i++ {
		clk.Advance(time.Second)
		want := 2 + i + i/3
		waitFor(t, "attempts after a tick", func() bool { return len(h.Attempts()) == want })
	}
	if n := count(h, "fast"); n != 7 {
		t.Errorf("fast prober made %d attempts in 6s at 1/s, want 7", n)
	}
	if n := count(h, "slow"); n != 3 {
		t.Errorf("slow prober made %d attempts in 6s at 1/3s, want 3", n)
	}
	var seq uint64
	for _, a := range h.Attempts() {
		if a.Prober != "fast" {
			continue
		}
		seq++
		if a.Seq != seq || !a.OK {
			t.Errorf("attempt %+v: want seq %d and ok", a, seq)
		}
		if want := t0.Add(time.Duration(seq-1) * time.Second); !a.Start.Equal(want) {
			t.Errorf("attempt %d started at %v, want %v", seq, a.Start, want)
		}
	}
}

func TestRunnerSkipsTicksWhileInFlight(t *testing.T) {
	leaktest.Check(t)
	clk := clock.NewFake(t0)
	release := make(chan struct{})
	p := &fakeProber{name: "p", s: Schedule{Interval: time.Second, Timeout: time.Minute}, fn: func(ctx context.Context) Result {
		<-release
		return Result{OK: true}
	}}
	h, _, _ := start(t, clk, p)
	waitFor(t, "the first attempt to start", func() bool { return p.calls.Load() == 1 })
	for i := 1; i <= 2; i++ {
		clk.Advance(time.Second)
		waitFor(t, "a skipped attempt", func() bool { return len(h.Attempts()) == i })
	}
	close(release)
	waitFor(t, "the first attempt to finish", func() bool { return len(h.Attempts()) == 3 })
	as := h.Attempts()
	if !as[0].OK || as[0].Seq != 1 {
		t.Errorf("first attempt %+v, want seq 1 ok", as[0])
	}
	for _, a := range as[1:] {
		if a.OK || !strings.Contains(a.Detail, "skipped") {
			t.Errorf("attempt %+v, want a failed skip", a)
		}
	}
	if p.calls.Load() != 1 {
		t.Errorf("prober called %d times, want 1", p.calls.Load())
	}
}

func TestRunnerConcurrentAttempts(t *testing.T) {
	leaktest.Check(t)
	clk := clock.NewFake(t0)
	release := make(chan struct{})
	p := &fakeProber{name: "p", s: Schedule{Interval: time.Second, Timeout: time.Minute, MaxInFlight: 3}, fn: func(ctx context.Context) Result {
		<-release
		return Result{OK: true}
	}}
	h, _, _ := start(t, clk, p)
	waitFor(t, "the first attempt", func() bool { return p.calls.Load() == 1 })
	for i := 2; i <= 3; i++ {
		clk.Advance(time.Second)
		waitFor(t, "a concurrent attempt", func() bool { return p.calls.Load() == int64(i) })
	}
	clk.Advance(time.Second) // a fourth would exceed MaxInFlight
	waitFor(t, "a skip", func() bool { return len(h.Attempts()) == 1 })
	close(release)
	waitFor(t, "all attempts", func() bool { return len(h.Attempts()) == 4 })
	if got := count(h, "p"); got != 4 {
		t.Errorf("%d attempts, want 4", got)
	}
}

func TestRunnerTimeout(t *testing.T) {
	leaktest.Check(t)
	clk := clock.NewFake(t0)
	p := &fakeProber{name: "p", s: Schedule{Interval: time.Second, Timeout: 20 * time.Millisecond}, fn: func(ctx context.Context) Result {
		<-ctx.Done()
		return Result{Detail: ctx.Err().Error()}
	}}
	h, _, _ := start(t, clk, p)
	waitFor(t, "the attempt to time out", func() bool { return len(h.Attempts()) == 1 })
	if a := h.Attempts()[0]; a.OK || !strings.Contains(a.Detail, "deadline") {
		t.Errorf("attempt %+v, want failed on its deadline", a)
	}
}

func TestRunnerDropsAttemptsCutShortByTheEnd(t *testing.T) {
	leaktest.Check(t)
	clk := clock.NewFake(t0)
	p := &fakeProber{name: "p", s: Schedule{Interval: time.Second, Timeout: time.Hour}, fn: func(ctx context.Context) Result {
		<-ctx.Done()
		return Result{Detail: "canceled"}
	}}
	h, cancel, done := start(t, clk, p)
	waitFor(t, "the attempt to start", func() bool { return p.calls.Load() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := len(h.Attempts()); n != 0 {
		t.Errorf("%d attempts recorded, want the cut-short one dropped", n)
	}
}

func TestRunnerRejectsBadProbers(t *testing.T) {
	leaktest.Check(t)
	good := &fakeProber{name: "a", s: Schedule{Interval: time.Second}, fn: ok}
	tests := []struct {
		name    string
		probers []Prober
		want    string
	}{
		{"no name", []Prober{&fakeProber{s: Schedule{Interval: time.Second}, fn: ok}}, "no name"},
		{"duplicate", []Prober{good, good}, "two probers"},
		{"zero interval", []Prober{&fakeProber{name: "z", fn: ok}}, "not positive"},
		{"negative interval", []Prober{&fakeProber{name: "n", s: Schedule{Interval: -time.Second}, fn: ok}}, "not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Runner{}).Run(context.Background(), &History{}, tt.probers...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRunnerEndedContext(t *testing.T) {
	leaktest.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &fakeProber{name: "p", s: Schedule{Interval: time.Millisecond}, fn: ok}
	h := &History{}
	if err := (&Runner{}).Run(ctx, h, p); err != nil {
		t.Fatal(err)
	}
	if p.calls.Load() != 0 || len(h.Attempts()) != 0 {
		t.Errorf("probed %d times with an ended context", p.calls.Load())
	}
}

func TestRunnerRealClock(t *testing.T) {
	leaktest.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	p := &fakeProber{name: "p", s: Schedule{Interval: 10 * time.Millisecond}, fn: ok}
	h := &History{}
	if err := (&Runner{}).Run(ctx, h, p); err != nil {
		t.Fatal(err)
	}
	if n := len(h.Attempts()); n < 5 || n > 25 {
		t.Errorf("%d attempts in 200ms at 100/s", n)
	}
}
