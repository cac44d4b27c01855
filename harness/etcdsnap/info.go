package etcdsnap

import (
	"errors"
	"time"
)

// Info describes a snapshot file, or the data directory Restore made from
// one. It goes into the results file, so its JSON names are part of that
// file's schema.
type Info struct {
	// Path is the snapshot file, or for Restore the data directory.
	Path string `json:"path,omitempty"`
	// Revision is the newest MVCC revision in the data: the store's revision
	// when the snapshot was taken (plus any bump Restore applied).
	Revision int64 `json:"revision"`
	// Hash is the CRC-32C over every bucket that `etcdutl snapshot status`
	// reports; equal snapshots have equal hashes.
	Hash uint32 `json:"hash"`
	// KVHash is the member's own HashKV at Revision, asked for by Save right
	// after the snapshot was taken. A member restored from the snapshot must
	// report the same HashKV at Revision. Zero from Inspect and Restore, and
	// when the store held no revisions.
	KVHash uint32 `json:"kv_hash,omitempty"`
	// TotalKeys counts the live keys at Revision (deleted keys excluded).
	TotalKeys int `json:"total_keys"`
	// Size is the file's size in bytes: the snapshot file with its trailer,
	// or for Restore the restored database file.
	Size int64 `json:"size_bytes"`
	// SHA256 is the hex digest etcd appended to the snapshot, verified
	// against the contents; empty for Restore.
	SHA256 string `json:"sha256,omitempty"`
	// StorageVersion is etcd's storage schema version recorded in the data
	// (for example "3.6.0"); empty for snapshots from etcd before 3.6.
	StorageVersion string `json:"storage_version,omitempty"`
	// MemberID is the hex ID of the member the snapshot came from (Save only).
	MemberID string `json:"member_id,omitempty"`
	// TakenAt is when Save asked for the snapshot (Save only).
	TakenAt time.Time `json:"taken_at,omitzero"`
}

// ErrCorrupt is wrapped by every error that says a snapshot file is not a
// whole, intact snapshot: truncated, altered, not a snapshot at all, or
// without the sha256 trailer etcd appends when it streams one.
var ErrCorrupt = errors.New("snapshot is corrupt")

// ErrNotEmpty is wrapped by Restore's error when the target data directory
// already holds something; Restore never overwrites a data directory.
var ErrNotEmpty = errors.New("target data directory is not empty")
