package clock

import (
	"sync"
	"time"
)

// Fake is a Clock that moves only when told to. Tickers fire during Advance,
// in time order, each at most once per period crossed, and drop ticks nobody
// received, as time.Ticker does.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
	changed chan struct{} // closed and replaced whenever the ticker set changes
}

// NewFake returns a Fake clock that reads start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTicker returns a ticker that fires every d of fake time.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTicker{f: f, c: make(chan time.Time, 1), period: d, next: f.now.Add(d)}
	f.tickers = append(f.tickers, t)
	f.notifyLocked()
	return t
}

// Advance moves the clock forward by d, firing every ticker whose next tick
// falls within the step.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(d)
	for {
		var first *fakeTicker
		for _, t := range f.tickers {
			if !t.next.After(end) && (first == nil || t.next.Before(first.next)) {
				first = t
			}
		}
		if first == nil {
			break
		}
		f.now = first.next
		select {
		case first.c <- f.now:
		default:
		}
		first.next = first.next.Add(first.period)
	}
	f.now = end
}

// Tickers reports how many tickers are running.
func (f *Fake) Tickers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tickers)
}

// WaitTickers blocks until at least n tickers are running or done is closed,
// so a test can advance time only once the code under test is waiting on it.
func (f *Fake) WaitTickers(done <-chan struct{}, n int) bool {
	for {
		f.mu.Lock()
		got, changed := len(f.tickers), f.changed
		f.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTicker struct {
	f      *Fake
	c      chan time.Time
	period time.Duration
	next   time.Time
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }

func (t *fakeTicker) Stop() {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, x := range t.f.tickers {
		if x == t {
			t.f.tickers = append(t.f.tickers[:i], t.f.tickers[i+1:]...)
			t.f.notifyLocked()
			return
		}
	}
}
