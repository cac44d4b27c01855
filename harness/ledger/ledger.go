package ledger

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Write is one write the write prober issued.
type Write struct {
	Seq  uint64 `json:"seq"`  // unique per run, increasing in issue order
	Name string `json:"name"` // the object written
	// Start is when the write was issued; Acked when the API acknowledged
	// it (zero if it did not).
	Start time.Time `json:"start"`
	Acked time.Time `json:"acked,omitzero"`
	// ResourceVersion the API returned with the acknowledgement.
	ResourceVersion string `json:"resource_version,omitempty"`
	// Err is why the write was not acknowledged.
	Err string `json:"error,omitempty"`
}

// Acknowledged reports whether the API acknowledged w.
func (w Write) Acknowledged() bool { return !w.Acked.IsZero() }

// Ledger records every write issued, acknowledged or not. It is safe for
// concurrent use.
type Ledger struct {
	mu     sync.Mutex
	writes []Write
}

// Record adds w. Give it a non-zero Acked only for writes the API
// acknowledged.
func (l *Ledger) Record(w Write) {
	l.mu.Lock()
	l.writes = append(l.writes, w)
	l.mu.Unlock()
}

// Writes returns a copy of the writes in sequence order.
func (l *Ledger) Writes() []Write {
	l.mu.Lock()
	out := slices.Clone(l.writes)
	l.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Write) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}
