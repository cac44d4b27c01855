package probe

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// History keeps every recorded attempt in memory. It is a Recorder.
type History struct {
	mu       sync.Mutex
	attempts []Attempt
}

// Record appends a.
func (h *History) Record(a Attempt) {
	h.mu.Lock()
	h.attempts = append(h.attempts, a)
	h.mu.Unlock()
}

// Attempts returns a copy of every attempt, ordered by start time (attempts
// finish out of order, so they are recorded out of order).
func (h *History) Attempts() []Attempt {
	h.mu.Lock()
	out := slices.Clone(h.attempts)
	h.mu.Unlock()
	SortByStart(out)
	return out
}

// SortByStart orders attempts by CompareStart.
func SortByStart(as []Attempt) { slices.SortFunc(as, CompareStart) }

// CompareStart orders attempts by start time, then prober and sequence.
func CompareStart(a, b Attempt) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Prober, b.Prober); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// Summary condenses one prober's attempts.
type Summary struct {
	Prober    string `json:"prober"`
	Attempts  int    `json:"attempts"`
	Successes int    `json:"successes"`
	// Ratio is Successes/Attempts; nil when there were no attempts.
	Ratio *float64 `json:"ratio"`
	// Latency percentiles over successful attempts, in seconds; nil when
	// none succeeded. Failures are left out because their duration is
	// mostly the timeout.
	LatencyP50 *float64 `json:"latency_p50_seconds"`
	LatencyP99 *float64 `json:"latency_p99_seconds"`
	// Responders counts successful attempts by the "pod" attribute: which
	// pod answered the data-plane prober.
	Responders map[string]int `json:"responders,omitempty"`
}

// Summarize condenses the attempts of every prober in as, one Summary per
// prober, sorted by prober name. names lists probers to include even if they
// made no attempt.
func Summarize(as []Attempt, names ...string) []Summary {
	type acc struct {
		s   Summary
		lat []time.Duration
	}
	by := map[string]*acc{}
	get := func(name string) *acc {
		a := by[name]
		if a == nil {
			a = &acc{s: Summary{Prober: name}}
			by[name] = a
		}
		return a
	}
	for _, n := range names {
		get(n)
	}
	for _, at := range as {
		a := get(at.Prober)
		a.s.Attempts++
		if !at.OK {
			continue
		}
		a.s.Successes++
		a.lat = append(a.lat, at.Duration)
		if pod := at.Attrs["pod"]; pod != "" {
			if a.s.Responders == nil {
				a.s.Responders = map[string]int{}
			}
			a.s.Responders[pod]++
		}
	}
	out := make([]Summary, 0, len(by))
	for _, a := range by {
		if a.s.Attempts > 0 {
			r := float64(a.s.Successes) / float64(a.s.Attempts)
			a.s.Ratio = &r
		}
		if len(a.lat) > 0 {
			slices.Sort(a.lat)
			a.s.LatencyP50 = seconds(percentile(a.lat, 0.50))
			a.s.LatencyP99 = seconds(percentile(a.lat, 0.99))
		}
		out = append(out, a.s)
	}
	slices.SortFunc(out, func(a, b Summary) int { return cmp.Compare(a.Prober, b.Prober) })
	return out
}

// percentile returns the nearest-rank p-quantile of sorted, which must not
// be empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}
