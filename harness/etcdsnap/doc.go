// Package etcdsnap saves, checks and restores etcd snapshots for the drills
// that lose etcd's data and the mitigations that bring it back. Save streams
// one member's snapshot to a file atomically, Inspect proves a file is a
// whole snapshot and says what is in it, and Restore turns a snapshot into a
// fresh data directory a new etcd member can start from.
package etcdsnap
