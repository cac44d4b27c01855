package timeline_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/internal/leaktest"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/timeline"
)

// switchable is an HTTP server that can be switched off (its listener and
// connections closed) and on again on the same address.
type switchable struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	srv  *http.Server
	wg   sync.WaitGroup
}

func (s *switchable) on() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listen %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"pod":"echo-0","node":"w","zone":"zone-b"}`)
	})}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	s.wg.Go(func() { _ = srv.Serve(ln) })
}

func (s *switchable) off() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.srv.Close()
	s.wg.Wait()
}

// TestOutageLocatedWithinOneInterval switches the workload off and on at
// known instants and checks that the data-plane timeline places the outage
// within one probe interval of them (plus scheduling slack on a busy
// machine).
func TestOutageLocatedWithinOneInterval(t *testing.T) {
	leaktest.Check(t)
	const rate = 50 // 20ms interval
	interval := time.Second / rate
	slack := 30 * time.Millisecond

	s := &switchable{t: t, addr: "127.0.0.1:0"}
	s.on()
	p, err := probe.NewDataPlane("http://"+s.addr, probe.DataPlaneOptions{Rate: rate, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	ctx, cancel := context.WithCancel(context.Background())
	h := &probe.History{}
	start := time.Now()
	done := make(chan error)
	go func() { done <- (&probe.Runner{}).Run(ctx, h, p) }()

	time.Sleep(300 * time.Millisecond)
	s.off()
	offAt := time.Now()
	time.Sleep(400 * time.Millisecond)
	s.on()
	onAt := time.Now()
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	s.off()

	tl := timeline.Build(start, end, h.Attempts(), nil, timeline.Options{Debounce: 3})
	outs := tl.Outages(probe.DataPlane)
	if len(outs) != 1 {
		t.Fatalf("outages %+v, want one", outs)
	}
	o := outs[0]
	wantStart, wantEnd := offAt.Sub(start), onAt.Sub(start)
	errStart, errEnd := o.Start.Duration()-wantStart, o.End.Duration()-wantEnd
	t.Logf("outage %v..%v, truth %v..%v: off by %v and %v (interval %v)",
		o.Start.Duration(), o.End.Duration(), wantStart, wantEnd, errStart, errEnd, interval)
	// An attempt that started just before the switch can land after it, so
	// the start may also be early by a request's latency.
	if errStart < -slack || errStart > interval+slack {
		t.Errorf("outage start off by %v, want within one interval (%v)", errStart, interval)
	}
	if errEnd < -slack || errEnd > interval+slack {
		t.Errorf("outage end off by %v, want within one interval (%v)", errEnd, interval)
	}
}
