package timeline

import (
	"sync"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
)

func TestEventLog(t *testing.T) {
	clk := clock.NewFake(t0)
	j := NewEventLog(clk, nil)
	attrs := map[string]string{"node": "kdrill-control-plane"}
	e := j.Record(FaultInjected, "apiserver-crash", attrs)
	attrs["node"] = "changed"
	if e.Attrs["node"] != "kdrill-control-plane" {
		t.Error("Record kept the caller's map")
	}
	clk.Advance(3 * time.Second)
	j.Record(FaultReverted, "apiserver-crash", nil)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { j.Record(EventKind("custom"), "x", nil) })
	}
	wg.Wait()
	evs := j.Events()
	if len(evs) != 12 || !evs[0].Time.Equal(t0) || !evs[1].Time.Equal(t0.Add(3*time.Second)) {
		t.Errorf("events %+v", evs[:2])
	}
	tl := Build(t0, t0.Add(time.Minute), nil, evs, Options{})
	if tl.Events[1].At != sec(3) {
		t.Errorf("event offset %v, want 3s", tl.Events[1].At)
	}
}
