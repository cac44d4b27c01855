package clock

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFakeTicker(t *testing.T) {
	f := NewFake(t0)
	tk := f.NewTicker(time.Second)
	defer tk.Stop()

	select {
	case <-tk.C():
		t.Fatal("tick before any time passed")
	default:
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-tk.C():
		t.Fatal("tick before the period")
	default:
	}
	f.Advance(time.Millisecond)
	if got := <-tk.C(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("tick at %v, want %v", got, t0.Add(time.Second))
	}
	// Three periods at once: the channel holds one tick, like time.Ticker.
	f.Advance(3 * time.Second)
	if got := <-tk.C(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("first kept tick at %v, want the first one crossed", got)
	}
	select {
	case <-tk.C():
		t.Error("ticks were queued, want dropped")
	default:
	}
	if got := f.Now(); !got.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("Now() = %v after advancing 4s", got)
	}
}

func TestFakeStopAndWait(t *testing.T) {
	f := NewFake(t0)
	done := make(chan struct{})
	got := make(chan bool)
	go func() { got <- f.WaitTickers(done, 2) }()
	a := f.NewTicker(time.Second)
	b := f.NewTicker(time.Second)
	if !<-got {
		t.Fatal("WaitTickers gave up with two tickers running")
	}
	a.Stop()
	a.Stop() // idempotent
	if n := f.Tickers(); n != 1 {
		t.Errorf("Tickers() = %d after one Stop, want 1", n)
	}
	f.Advance(time.Second)
	select {
	case <-a.C():
		t.Error("stopped ticker fired")
	default:
	}
	<-b.C()
	close(done)
	if f.WaitTickers(done, 5) {
		t.Error("WaitTickers(5) = true with done closed and one ticker")
	}
}

func TestReal(t *testing.T) {
	c := Real()
	a := c.Now()
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
	if d := c.Now().Sub(a); d <= 0 {
		t.Errorf("real clock did not move: %v", d)
	}
}
