package etcdsnap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Save's work against a member is covered by the suite in suites/etcd; here
// only what it refuses before talking to one.
func TestSaveNeedsExactlyOneEndpoint(t *testing.T) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1", "127.0.0.1:2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	_, err = Save(context.Background(), cli, path)
	if err == nil || !strings.Contains(err.Error(), "2 endpoints") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want a refusal naming the path and the 2 endpoints", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Save left %v behind", entries)
	}
}
