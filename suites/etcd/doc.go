// Package etcd holds the Ginkgo suite that runs kdrill's etcd library code
// (harness/etcdsnap) against real etcd servers in containers started from a
// locally built image, so snapshot save, inspect and restore are proven on
// the same etcd the clusters run, without a kind cluster.
package etcd
