// Package harness is kdrill's provider-agnostic core: the Target a drill runs
// against, whichever provider made it. Its sub-packages probe the target
// (probe), record what happened (timeline, ledger), judge it against the SLOs
// (slo) and write it down (results); providers such as harness/kind implement
// Target.
package harness
