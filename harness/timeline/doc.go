// Package timeline turns a drill's probe history and the events its faults
// and mitigations reported into what happened when: each prober's debounced
// up/down transitions and its latency over time in at most
// MaxLatencyBuckets fixed-width buckets, the events, and the outages they
// imply. A Timeline is built after the fact from the recorded history and
// serialises to JSON for the results file.
package timeline
