package etcdsnap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// Inspect checks that the file at path is a whole etcd snapshot and reports
// what it holds. It first verifies the sha256 trailer etcd appends to every
// streamed snapshot against the file's contents, then has etcdutl's snapshot
// package open the database, check its pages and count its keys. Any
// failure of either check wraps ErrCorrupt. Files copied out of a data
// directory have no trailer and are rejected: only a snapshot that can be
// proven whole is worth restoring in a drill.
func Inspect(path string) (Info, error) {
	info, err := inspect(path)
	if err != nil {
		return Info{}, fmt.Errorf("inspect etcd snapshot %s: %w", path, err)
	}
	return info, nil
}

func inspect(path string) (Info, error) {
	sum, size, err := verifyTrailer(path)
	if err != nil {
		return Info{}, err
	}
	st, err := dbStatus(path)
	if err != nil {
		// The bytes are the ones etcd sent, so a database that does not
		// open or check out was already broken when it was streamed.
		return Info{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return Info{
		Path:           path,
		Revision:       st.Revision,
		Hash:           st.Hash,
		TotalKeys:      st.TotalKey,
		Size:           size,
		SHA256:         hex.EncodeToString(sum),
		StorageVersion: st.Version,
	}, nil
}

// hasTrailer reports whether a file of n bytes can be a bolt database with
// etcd's sha256 appended. etcd (and etcdutl, with the same test) relies on
// bolt files being whole 512-byte sectors, so any other length means the
// trailer is missing or the file was cut or padded.
func hasTrailer(n int64) bool {
	return n > sha256.Size && n%512 == sha256.Size
}

// verifyTrailer checks the sha256 trailer of the snapshot at path against the
// rest of the file and returns the digest and the file's size.
func verifyTrailer(path string) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%w: not a regular file", ErrCorrupt)
	}
	n := fi.Size()
	switch {
	case n == 0:
		return nil, 0, fmt.Errorf("%w: the file is empty", ErrCorrupt)
	case n%512 == 0:
		return nil, 0, fmt.Errorf("%w: %d bytes of whole 512-byte sectors and no sha256 trailer: a database copied from a data directory, or cut short at a sector boundary, not a snapshot saved from a member", ErrCorrupt, n)
	case !hasTrailer(n):
		return nil, 0, fmt.Errorf("%w: %d bytes is not whole 512-byte sectors plus etcd's 32-byte sha256 trailer: the file is truncated or padded", ErrCorrupt, n)
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, n-sha256.Size); err != nil {
		return nil, 0, fmt.Errorf("hash contents: %w", err)
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(f, want); err != nil {
		return nil, 0, fmt.Errorf("read sha256 trailer: %w", err)
	}
	got := h.Sum(nil)
	if !bytes.Equal(got, want) {
		return nil, 0, fmt.Errorf("%w: contents hash to sha256 %x but the trailer says %x", ErrCorrupt, got, want)
	}
	return want, n, nil
}

// dbStatus runs etcdutl's snapshot status on a bolt file. bbolt panics on
// some malformed pages instead of returning an error; that is turned into an
// error so one bad file cannot take the drill down.
func dbStatus(path string) (st snapshot.Status, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read database: panic: %v", r)
		}
	}()
	st, err = snapshot.NewV3(zap.NewNop()).Status(path)
	if err != nil {
		return st, fmt.Errorf("read database: %w", err)
	}
	return st, nil
}
