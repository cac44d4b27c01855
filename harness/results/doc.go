// Package results defines kdrill's results file (schema kdrill/results/v1,
// documented in docs/results.md): what ran, where, and per scenario the
// verdict, the measurements, the SLO bounds used, the timeline and the
// probers' summaries; and, from 'kdrill audit', which mitigations are in
// place. Reports and CI read it, so it changes only by adding fields;
// anything else is a new schema.
package results
