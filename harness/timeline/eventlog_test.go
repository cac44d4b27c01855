package timeline

import (
	"log/slog"
	"strings"
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

func TestEventLogRecordAt(t *testing.T) {
	clk := clock.NewFake(t0.Add(time.Second))
	var log strings.Builder
	j := NewEventLog(clk, slog.New(slog.NewTextHandler(&log, nil)))
	j.Record(MitigationStarted, "kubelet", nil)
	struck := t0.Add(250 * time.Millisecond)
	e := j.RecordAt(struck, FaultInjected, "apiserver-crash", nil)
	if !e.Time.Equal(struck) {
		t.Errorf("event at %v, want the time given, %v", e.Time, struck)
	}
	if !strings.Contains(log.String(), "at="+struck.UTC().Format("15:04:05.000")) {
		t.Errorf("the log line does not say when the event happened:\n%s", log.String())
	}
	// Recorded after an event that happened later, it still comes first on
	// the timeline.
	tl := Build(t0, t0.Add(time.Minute), nil, j.Events(), Options{})
	if tl.Events[0].Kind != FaultInjected || tl.Events[0].At != Offset(250*time.Millisecond) {
		t.Errorf("timeline events %+v", tl.Events)
	}
}
