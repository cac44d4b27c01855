package timeline

import (
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
)

// EventKind says what an Event reports. Faults and mitigations may use kinds
// of their own besides these.
type EventKind string

// The kinds of event every fault and mitigation reports.
const (
	FaultInjected      EventKind = "fault-injected"
	FaultReverted      EventKind = "fault-reverted"
	MitigationStarted  EventKind = "mitigation-started"
	MitigationFinished EventKind = "mitigation-finished"
)

// Event is something a fault or a mitigation did.
type Event struct {
	At     Offset    `json:"at_seconds"` // set by Build from Time
	Time   time.Time `json:"time"`
	Kind   EventKind `json:"kind"`
	Source string    `json:"source"` // the fault or mitigation, e.g. "apiserver-crash"
	// Attrs are free-form details: the node, the container id, the error…
	Attrs map[string]string `json:"attrs,omitempty"`
}

// EventLog collects events as they happen, for the timeline. It is safe for
// concurrent use. It lives in memory; the faults package keeps the on-disk
// undo journal that survives a crash.
type EventLog struct {
	clock  clock.Clock
	logger *slog.Logger
	mu     sync.Mutex
	events []Event
}

// NewEventLog returns an event log that stamps events with clk (the real
// clock if nil) and logs each to logger (nowhere if nil).
func NewEventLog(clk clock.Clock, logger *slog.Logger) *EventLog {
	if clk == nil {
		clk = clock.Real()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &EventLog{clock: clk, logger: logger}
}

// Record stamps an event with the current time, keeps it and returns it.
func (l *EventLog) Record(kind EventKind, source string, attrs map[string]string) Event {
	return l.record(l.clock.Now(), false, kind, source, attrs)
}

// RecordAt keeps an event that happened at a time already known, such as
// the moment a fault struck as the node's clock read it. The log line says
// when, since it is written later.
func (l *EventLog) RecordAt(at time.Time, kind EventKind, source string, attrs map[string]string) Event {
	return l.record(at, true, kind, source, attrs)
}

func (l *EventLog) record(at time.Time, past bool, kind EventKind, source string, attrs map[string]string) Event {
	e := Event{Time: at, Kind: kind, Source: source, Attrs: maps.Clone(attrs)}
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	args := []any{"kind", kind, "source", source}
	if past {
		args = append(args, "at", at.UTC().Format("15:04:05.000"))
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		args = append(args, k, attrs[k])
	}
	l.logger.Info("event", args...)
	return e
}

// Events returns a copy of the events in the order they were recorded.
func (l *EventLog) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}
