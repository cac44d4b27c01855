package clock

import "time"

// Clock tells the time and makes tickers. The real clock's times carry Go's
// monotonic reading, so durations between them are immune to wall-clock jumps.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// Ticker delivers ticks on C like time.Ticker: a slow receiver misses ticks
// rather than queueing them.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real returns the clock of the machine.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }
