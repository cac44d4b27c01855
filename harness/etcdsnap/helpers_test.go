package etcdsnap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/etcd/server/v3/lease"
	"go.etcd.io/etcd/server/v3/storage/backend"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.uber.org/zap"
)

// fixture is a snapshot file made the way a member makes one for
// Maintenance.Snapshot: etcd's own MVCC store over its own backend, the
// backend's snapshot, then the sha256 of it appended.
type fixture struct {
	path     string
	revision int64
	keys     map[string]string // live keys and their values
}

// makeSnapshot writes n keys k000..k<n-1> and deletes the first `deleted`
// of them, so the snapshot holds tombstones too.
func makeSnapshot(t *testing.T, n, deleted int) fixture {
	t.Helper()
	dir := t.TempDir()
	be := backend.NewDefaultBackend(zap.NewNop(), filepath.Join(dir, "db"))
	s := mvcc.NewStore(zap.NewNop(), be, &lease.FakeLessor{}, mvcc.StoreConfig{})
	fx := fixture{path: filepath.Join(dir, "snapshot.db"), keys: map[string]string{}}
	for i := range n {
		k, v := fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i)
		fx.revision = s.Put([]byte(k), []byte(v), lease.NoLease)
		fx.keys[k] = v
	}
	for i := range deleted {
		k := fmt.Sprintf("k%03d", i)
		_, fx.revision = s.DeleteRange([]byte(k), nil)
		delete(fx.keys, k)
	}
	be.ForceCommit()

	var buf bytes.Buffer
	snap := be.Snapshot()
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	if err := os.WriteFile(fx.path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return fx
}

// readKeys opens a restored data directory's database with etcd's MVCC
// store and returns every live key with its value.
func readKeys(t *testing.T, dataDir string) (map[string]string, int64) {
	t.Helper()
	be := backend.NewDefaultBackend(zap.NewNop(), filepath.Join(dataDir, "member", "snap", "db"))
	defer be.Close()
	s := mvcc.NewStore(zap.NewNop(), be, &lease.FakeLessor{}, mvcc.StoreConfig{})
	defer s.Close()
	r, err := s.Range(context.Background(), []byte{0}, []byte{}, mvcc.RangeOptions{}) // a non-nil empty end means "every key from here on"
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range r.KVs {
		got[string(kv.Key)] = string(kv.Value)
	}
	return got, r.Rev
}
