package timeline

import (
	"math"
	"slices"
	"time"

	"github.com/kdrill/kdrill/harness/probe"
)

// MaxLatencyBuckets caps the buckets of a track's latency series, so that
// the results file and the reports drawn from it do not grow with the
// length of the drill: a 90-second drill gets one-second buckets, a
// one-hour game day 15-second ones.
const MaxLatencyBuckets = 300

// latencyWidths are the bucket widths Build picks from, in seconds: the
// smallest that keeps every track within MaxLatencyBuckets. They divide
// minutes and hours evenly, so buckets start on round offsets.
var latencyWidths = []int{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}

// latencyWidth returns the bucket width for a drill from start to end: at
// least a second, and wide enough that the buckets from start (or the
// earliest attempt) to end (or the latest attempt) number at most
// MaxLatencyBuckets.
func latencyWidth(start, end time.Time, attempts []probe.Attempt) time.Duration {
	// end itself is not in the drill: a 300-second drill has 300 buckets
	// of a second.
	lo, hi := time.Duration(0), max(end.Sub(start)-1, 0)
	for i := range attempts {
		at := attempts[i].Start.Sub(start)
		lo, hi = min(lo, at), max(hi, at)
	}
	fits := func(w time.Duration) bool { return bucketOf(hi, w)-bucketOf(lo, w)+1 <= MaxLatencyBuckets }
	for _, s := range latencyWidths {
		if w := time.Duration(s) * time.Second; fits(w) {
			return w
		}
	}
	// Drills of more than 300 hours: whole hours.
	w := time.Duration(math.Ceil(float64(hi-lo)/float64(MaxLatencyBuckets-1)/float64(time.Hour))) * time.Hour
	for !fits(w) {
		w += time.Hour
	}
	return w
}

// bucketOf returns the index of the bucket of width w that offset at falls
// in; bucket k covers [k*w, (k+1)*w).
func bucketOf(at, w time.Duration) int64 {
	k := int64(at / w)
	if at%w < 0 {
		k--
	}
	return k
}

// latencySeries condenses one prober's attempts, sorted by start, into
// buckets of width w from start; buckets in which no attempt started are
// left out.
func latencySeries(as []*probe.Attempt, start time.Time, w time.Duration) []LatencyBucket {
	if len(as) == 0 || w <= 0 {
		return nil
	}
	var out []LatencyBucket
	var lat []time.Duration // successful attempts' latencies in the current bucket
	cur := LatencyBucket{}
	k := int64(math.MinInt64)
	flush := func() {
		if cur.N == 0 {
			return
		}
		if len(lat) > 0 {
			slices.Sort(lat)
			cur.P50 = micros(lat[(len(lat)+1)/2-1]) // nearest rank: ⌈n/2⌉
			cur.Max = micros(lat[len(lat)-1])
		}
		out = append(out, cur)
		lat = lat[:0]
	}
	for _, a := range as {
		if b := bucketOf(a.Start.Sub(start), w); b != k {
			flush()
			k = b
			cur = LatencyBucket{At: Offset(time.Duration(b) * w)}
		}
		cur.N++
		if a.OK {
			lat = append(lat, a.Duration)
		} else {
			cur.Failures++
		}
	}
	flush()
	return out
}

// micros returns d in seconds, rounded to the microsecond: finer than
// that is the noise of reading the clock, and it would only lengthen the
// results file.
func micros(d time.Duration) *float64 {
	s := d.Round(time.Microsecond).Seconds()
	return &s
}
