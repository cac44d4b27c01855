// Package etcdprobe holds the prober that watches etcd directly, through
// go.etcd.io/etcd/client/v3 with the cluster's etcd client certificates: each
// attempt checks endpoint health (a linearizable read, as etcdctl does) and
// status (revision, leader, database size).
package etcdprobe
