// Package etcd holds the Ginkgo suite that runs kdrill's etcd library code
// (the etcd prober, harness/etcdsnap and the write ledger) against real etcd
// servers in containers started from a locally built image, so probing,
// snapshot save, inspect and restore, and the accounting of lost writes are
// proven on the same etcd the clusters run, without a kind cluster.
package etcd
