package etcdsnap

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdrill/kdrill/harness/input"
)

func TestRestoreBringsBackExactlyTheSnapshot(t *testing.T) {
	fx := makeSnapshot(t, 30, 4)
	tests := []struct {
		name string
		dir  func(t *testing.T) string
		bump uint64
	}{
		{"into a new directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "etcd") }, 0},
		{"into an empty directory", func(t *testing.T) string { return t.TempDir() }, 0},
		{"with the revision bumped", func(t *testing.T) string { return filepath.Join(t.TempDir(), "etcd") }, 1_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			info, err := Restore(context.Background(), fx.path, RestoreOptions{
				DataDir:      dir,
				Name:         "kdrill-control-plane",
				PeerURLs:     []string{"https://127.0.0.1:2380"},
				RevisionBump: tt.bump,
			})
			if err != nil {
				t.Fatal(err)
			}
			wantRev := fx.revision + int64(tt.bump)
			if info.Revision != wantRev || info.TotalKeys != len(fx.keys) || info.Path != dir || info.Size == 0 {
				t.Errorf("Restore = %+v; want revision %d, %d keys, path %s and a size", info, wantRev, len(fx.keys), dir)
			}
			for _, sub := range []string{"member/wal", "member/snap/db"} {
				if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
					t.Errorf("restored data directory lacks %s: %v", sub, err)
				}
			}
			got, rev := readKeys(t, dir)
			if !maps.Equal(got, fx.keys) {
				t.Errorf("restored keys = %v, want %v", got, fx.keys)
			}
			if rev != wantRev {
				t.Errorf("restored store revision = %d, want %d", rev, wantRev)
			}
		})
	}
}

func TestRestoreRefusesAndLeavesTheTargetAlone(t *testing.T) {
	fx := makeSnapshot(t, 5, 0)
	bad := mutate(t, fx.path, func(b []byte) []byte { return b[:len(b)-100] })

	t.Run("non-empty target", func(t *testing.T) {
		dir := t.TempDir()
		keep := filepath.Join(dir, "precious")
		if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Restore(context.Background(), fx.path, RestoreOptions{DataDir: dir})
		if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("err = %v, want ErrNotEmpty naming %s", err, dir)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 || entries[0].Name() != "precious" {
			t.Errorf("target now holds %v, want only precious", entries)
		}
	})
	t.Run("corrupt snapshot, new target", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "etcd")
		_, err := Restore(context.Background(), bad, RestoreOptions{DataDir: dir})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("target was created: %v", err)
		}
	})
	t.Run("corrupt snapshot, empty target", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Restore(context.Background(), bad, RestoreOptions{DataDir: dir})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("target now holds %v, want nothing", entries)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		dir := filepath.Join(t.TempDir(), "etcd")
		if _, err := Restore(ctx, fx.path, RestoreOptions{DataDir: dir}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("target was created: %v", err)
		}
	})
}

func TestRestoreOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    RestoreOptions
		want    RestoreOptions // compared on the member fields
		wantErr string         // field named in the *input.Error
	}{
		{name: "defaults", opts: RestoreOptions{DataDir: "d"},
			want: RestoreOptions{Name: "default", PeerURLs: []string{"http://localhost:2380"},
				InitialCluster: "default=http://localhost:2380", InitialClusterToken: "etcd-cluster"}},
		{name: "kind control plane", opts: RestoreOptions{DataDir: "d", Name: "kdrill-control-plane", PeerURLs: []string{"https://172.18.0.2:2380"}},
			want: RestoreOptions{Name: "kdrill-control-plane", PeerURLs: []string{"https://172.18.0.2:2380"},
				InitialCluster: "kdrill-control-plane=https://172.18.0.2:2380", InitialClusterToken: "etcd-cluster"}},
		{name: "two peer URLs", opts: RestoreOptions{DataDir: "d", Name: "m", PeerURLs: []string{"http://a:2380", "http://b:2380"}, InitialClusterToken: "t"},
			want: RestoreOptions{Name: "m", PeerURLs: []string{"http://a:2380", "http://b:2380"},
				InitialCluster: "m=http://a:2380,m=http://b:2380", InitialClusterToken: "t"}},
		{name: "no data dir", opts: RestoreOptions{}, wantErr: "DataDir"},
		{name: "peer URL without port", opts: RestoreOptions{DataDir: "d", PeerURLs: []string{"http://localhost"}}, wantErr: "PeerURLs"},
		{name: "peer URL with a path", opts: RestoreOptions{DataDir: "d", PeerURLs: []string{"http://localhost:2380/x"}}, wantErr: "PeerURLs"},
		{name: "cluster without this member", opts: RestoreOptions{DataDir: "d", Name: "a", InitialCluster: "b=http://localhost:2380"}, wantErr: "InitialCluster"},
		{name: "malformed cluster", opts: RestoreOptions{DataDir: "d", InitialCluster: "default"}, wantErr: "InitialCluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.withDefaults()
			if tt.wantErr != "" {
				var ie *input.Error
				if !errors.As(err, &ie) || ie.Field != tt.wantErr {
					t.Fatalf("err = %v, want an *input.Error on %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want.Name || strings.Join(got.PeerURLs, ",") != strings.Join(tt.want.PeerURLs, ",") ||
				got.InitialCluster != tt.want.InitialCluster || got.InitialClusterToken != tt.want.InitialClusterToken || got.Logger == nil {
				t.Errorf("withDefaults = %+v, want %+v and a logger", got, tt.want)
			}
		})
	}
}
