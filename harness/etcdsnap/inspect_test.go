package etcdsnap

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspectReportsWhatTheSnapshotHolds(t *testing.T) {
	fx := makeSnapshot(t, 20, 5)
	info, err := Inspect(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Revision != fx.revision || info.TotalKeys != len(fx.keys) || info.Size != fi.Size() {
		t.Errorf("Inspect = revision %d, %d keys, %d bytes; want revision %d, %d keys, %d bytes",
			info.Revision, info.TotalKeys, info.Size, fx.revision, len(fx.keys), fi.Size())
	}
	if info.Hash == 0 || len(info.SHA256) != 64 || info.Path != fx.path {
		t.Errorf("Inspect = %+v: want a hash, a hex sha256 and the path", info)
	}
	again, err := Inspect(fx.path)
	if err != nil || again != info {
		t.Errorf("second Inspect = %+v, %v; want the same as the first", again, err)
	}
}

// mutate returns a copy of the fixture file at a new path after f changed
// its bytes.
func mutate(t *testing.T, src string, f func([]byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "mutated.db")
	if err := os.WriteFile(dst, f(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestInspectRejectsDamagedFiles(t *testing.T) {
	fx := makeSnapshot(t, 10, 0)
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		corrupt bool   // want errors.Is(err, ErrCorrupt)
		want    string // in the message
	}{
		{"empty file", func(t *testing.T) string {
			return mutate(t, fx.path, func([]byte) []byte { return nil })
		}, true, "empty"},
		{"one byte cut off", func(t *testing.T) string {
			return mutate(t, fx.path, func(b []byte) []byte { return b[:len(b)-1] })
		}, true, "truncated"},
		{"cut at a sector, leaving a plausible length", func(t *testing.T) string {
			return mutate(t, fx.path, func(b []byte) []byte { return b[:len(b)-4096] })
		}, true, "trailer says"},
		{"one flipped bit inside", func(t *testing.T) string {
			return mutate(t, fx.path, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}, true, "trailer says"},
		{"trailer damaged", func(t *testing.T) string {
			return mutate(t, fx.path, func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b })
		}, true, "trailer says"},
		{"no trailer, as copied from a data directory", func(t *testing.T) string {
			return mutate(t, fx.path, func(b []byte) []byte { return b[:len(b)-sha256.Size] })
		}, true, "data directory"},
		{"not a database, with a valid trailer", func(t *testing.T) string {
			return mutate(t, fx.path, func([]byte) []byte {
				junk := make([]byte, 8192)
				rand.Read(junk)
				sum := sha256.Sum256(junk)
				return append(junk, sum[:]...)
			})
		}, true, "read database"},
		{"a directory", func(t *testing.T) string { return t.TempDir() }, true, "not a regular file"},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.db") }, false, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.path(t)
			_, err := Inspect(p)
			if err == nil {
				t.Fatal("Inspect succeeded")
			}
			if errors.Is(err, ErrCorrupt) != tt.corrupt {
				t.Errorf("errors.Is(err, ErrCorrupt) = %v, want %v: %v", !tt.corrupt, tt.corrupt, err)
			}
			if !tt.corrupt && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("err = %v, want fs.ErrNotExist", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %q, want it to name %s and say %q", err, p, tt.want)
			}
		})
	}
}

func TestHasTrailer(t *testing.T) {
	tests := []struct {
		n    int64
		want bool
	}{
		{0, false},
		{32, false}, // a trailer with nothing before it
		{512, false},
		{512 + 32, true},
		{4096*4 + 32, true},
		{4096*4 + 31, false},
		{4096*4 + 33, false},
	}
	for _, tt := range tests {
		if got := hasTrailer(tt.n); got != tt.want {
			t.Errorf("hasTrailer(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}
