// Package kind is kdrill's local provider: it brings up and tears down kind
// clusters in the drill topology (one control-plane node in zone-a, two
// workers in zone-b, etcd's data on a host folder), deploys the echo
// workload kdrill probes, and waits until the cluster serves it.
package kind
