// Package slo holds the service-level objectives drills are judged by: the
// bounds per scenario (max RTO, min data-plane availability, max lost
// acknowledged writes, max RPO), the built-in defaults of
// docs/scenarios.md, overrides read from a YAML file, and the evaluator that
// turns a drill's timeline and write ledger into a verdict with the measured
// value, the bound and the margin of every check.
package slo
