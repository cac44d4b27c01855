package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/kdrill/kdrill/harness/clock"
)

// Recorder receives every attempt. It must be safe for concurrent use.
type Recorder interface {
	Record(Attempt)
}

// Runner runs probers until its context ends. The zero value uses the real
// clock and discards logs.
type Runner struct {
	Clock  clock.Clock
	Logger *slog.Logger
}

// Run starts every prober at once, then again at each tick of its interval,
// and records each attempt into rec. It returns when ctx ends and every
// attempt has returned. Attempts cut short by the end of ctx are not
// recorded: they say nothing about the cluster.
func (r *Runner) Run(ctx context.Context, rec Recorder, probers ...Prober) error {
	seen := map[string]bool{}
	for _, p := range probers {
		s := p.Schedule()
		switch {
		case p.Name() == "":
			return fmt.Errorf("run probers: a prober has no name")
		case seen[p.Name()]:
			return fmt.Errorf("run probers: two probers named %q", p.Name())
		case s.Interval <= 0:
			return fmt.Errorf("run prober %s: interval %v is not positive", p.Name(), s.Interval)
		}
		seen[p.Name()] = true
	}
	clk := r.Clock
	if clk == nil {
		clk = clock.Real()
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	for _, p := range probers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx, clk, log.With("prober", p.Name()), rec, p)
		}()
	}
	wg.Wait()
	return nil
}

func loop(ctx context.Context, clk clock.Clock, log *slog.Logger, rec Recorder, p Prober) {
	s := p.Schedule().withDefaults()
	ticker := clk.NewTicker(s.Interval)
	defer ticker.Stop()
	slots := make(chan struct{}, s.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	var seq uint64
	fire := func() {
		seq++
		a := Attempt{Prober: p.Name(), Seq: seq, Start: clk.Now()}
		select {
		case slots <- struct{}{}:
		default:
			a.Detail = fmt.Sprintf("skipped: %d attempts still in flight", s.MaxInFlight)
			rec.Record(a)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			actx, cancel := context.WithTimeout(ctx, s.Timeout)
			res := p.Probe(actx)
			cancel()
			a.Duration = clk.Now().Sub(a.Start)
			if !res.OK && ctx.Err() != nil {
				log.Debug("attempt cut short by the end of the run", "seq", a.Seq, "detail", res.Detail)
				return
			}
			a.OK, a.Detail, a.Attrs = res.OK, res.Detail, res.Attrs
			rec.Record(a)
		}()
	}
	if ctx.Err() != nil {
		return
	}
	fire()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			// A tick and the end of ctx can be ready together; select picks
			// at random, so check again rather than probe after the end.
			if ctx.Err() != nil {
				return
			}
			fire()
		}
	}
}
