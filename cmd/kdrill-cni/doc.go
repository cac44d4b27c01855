// Command kdrill-cni is the pod network agent of kdrill's offline kind
// clusters, standing in for kindnetd, which cannot be pulled without a
// registry. It runs on every node as a hostNetwork DaemonSet pod and, every
// few seconds, writes the node's CNI config (ptp + host-local on the node's
// podCIDR + portmap), routes every other node's podCIDR via that node's
// InternalIP, and masquerades pod traffic that leaves the cluster pod CIDR.
//
// The manifest that installs it is harness/kind/nodeimage/assets/default-cni.yaml.
// Only IPv4 is handled: kdrill's clusters are single-stack IPv4.
package main
