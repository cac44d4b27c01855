// Package reports turns a results file (harness/results, schema
// kdrill/results/v1) into what people read after a game day: one
// self-contained HTML page with a summary, a timeline chart and an event log
// per scenario and the audit's checks, and JUnit XML for CI. It reads
// nothing but the results file, so a report can be made again anywhere,
// long after the drill.
package reports
