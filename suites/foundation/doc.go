// Package foundation holds the Ginkgo suite that checks kdrill's local
// cluster itself: nodes, control-plane static pods, cluster DNS and the echo
// workload, before any drill relies on them.
package foundation
