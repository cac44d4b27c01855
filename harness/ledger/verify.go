package ledger

import (
	"cmp"
	"slices"
	"time"
)

// Observed is a write found when reading back after recovery.
type Observed struct {
	Seq             uint64
	ResourceVersion string
}

// Status is what verification found of one write.
type Status string

// The statuses of a verified write.
const (
	// Present: acknowledged and read back.
	Present Status = "present"
	// Lost: acknowledged but not read back.
	Lost Status = "lost"
	// Indeterminate: never acknowledged; read back or not, it counts
	// neither way.
	Indeterminate Status = "indeterminate"
)

// Report is the outcome of verifying a ledger.
type Report struct {
	Acknowledged int `json:"acknowledged"`
	Present      int `json:"present"`
	Lost         int `json:"lost"`
	// Unacknowledged writes, and how many of those were read back anyway.
	Unacknowledged        int `json:"unacknowledged"`
	UnacknowledgedPresent int `json:"unacknowledged_present"`
	// Unexpected counts objects read back that the ledger never issued:
	// left over from another run, or a bug in the write prober.
	Unexpected int `json:"unexpected"`
	// LostWrites are the acknowledged writes not read back, by sequence.
	LostWrites []Write `json:"lost_writes,omitempty"`
	// Window is the time span the lost writes cover: from the issue of the
	// first to the acknowledgement of the last. Zero if none was lost. (The
	// results file carries it as rpo_seconds.)
	Window time.Duration `json:"-"`
}

// Classify returns the status of w given whether it was read back.
func Classify(w Write, readBack bool) Status {
	switch {
	case !w.Acknowledged():
		return Indeterminate
	case readBack:
		return Present
	default:
		return Lost
	}
}

// Verify classifies every write in writes against what was read back.
func Verify(writes []Write, observed []Observed) Report {
	seen := make(map[uint64]bool, len(observed))
	for _, o := range observed {
		seen[o.Seq] = true
	}
	issued := make(map[uint64]bool, len(writes))
	var r Report
	for _, w := range writes {
		issued[w.Seq] = true
		switch Classify(w, seen[w.Seq]) {
		case Present:
			r.Acknowledged++
			r.Present++
		case Lost:
			r.Acknowledged++
			r.Lost++
			r.LostWrites = append(r.LostWrites, w)
		case Indeterminate:
			r.Unacknowledged++
			if seen[w.Seq] {
				r.UnacknowledgedPresent++
			}
		}
	}
	for seq := range seen {
		if !issued[seq] {
			r.Unexpected++
		}
	}
	slices.SortFunc(r.LostWrites, func(a, b Write) int { return cmp.Compare(a.Seq, b.Seq) })
	if len(r.LostWrites) > 0 {
		first, last := r.LostWrites[0].Start, r.LostWrites[0].Acked
		for _, w := range r.LostWrites {
			if w.Start.Before(first) {
				first = w.Start
			}
			if w.Acked.After(last) {
				last = w.Acked
			}
		}
		r.Window = last.Sub(first)
	}
	return r
}

// LostBefore counts the lost writes acknowledged before t: after restoring a
// backup taken at t, it must be zero.
func (r Report) LostBefore(t time.Time) int {
	n := 0
	for _, w := range r.LostWrites {
		if w.Acked.Before(t) {
			n++
		}
	}
	return n
}
