// Package drills holds the Ginkgo suite that runs the seed's scenarios on a
// real kind cluster, one Describe per scenario id, through the same drill
// definitions 'kdrill run' uses.
package drills
