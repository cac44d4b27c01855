// Package drill runs one scenario of the seed against a target: it probes
// the cluster healthy, injects the fault through the undo journal, lets the
// mitigation act (or watches it fail to), reverts, verifies the
// acknowledged writes and judges the outcome against the SLOs. 'kdrill run'
// and the Ginkgo suites share it, so both drill exactly the same thing.
package drill
