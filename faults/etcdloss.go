package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/etcdsnap"
)

// EtcdVolume is a target whose control-plane etcd data folder kdrill can
// write directly (on kind: the host folder bind-mounted into the node).
type EtcdVolume interface {
	EtcdDataDir() string
}

// EtcdDataLoss destroys etcd's data while it runs: every file under the
// member folder is overwritten with random bytes and etcd is killed. etcd
// then cannot start again on its own (its WAL and database no longer
// parse), so the API server cannot come up, while the kubelets keep the
// pods they have. This is lost backing storage, not an empty disk: an
// empty data folder would let etcd bootstrap a new, empty cluster, and the
// kubelets would then stop every pod the empty API no longer lists.
//
// Revert restores the newest snapshot in BackupDir (see RestoreEtcd), or
// on a target that keeps its own backups (EtcdBackups) the newest of
// those; it does nothing when etcd is healthy and its manifests are in
// place.
type EtcdDataLoss struct {
	BackupDir string
}

// EtcdBackup is one etcd snapshot a target keeps.
type EtcdBackup struct {
	ID             string // where the target keeps it: an S3 key
	Revision, Keys int64
}

// EtcdBackups is a target that snapshots etcd and keeps the snapshots
// itself (in S3 on AWS) rather than in a folder on the machine running
// kdrill, and restores them on the node.
type EtcdBackups interface {
	BackupEtcd(ctx context.Context, node string) (EtcdBackup, error)
	LatestEtcdBackup(ctx context.Context) (string, error)
	RestoreEtcdBackup(ctx context.Context, node, id string) error
}

// Name implements Fault.
func (e *EtcdDataLoss) Name() string { return "etcd-data-loss" }

// Plan implements Fault.
func (e *EtcdDataLoss) Plan(ctx context.Context, t harness.Target) (Params, error) {
	cp, err := controlPlane(ctx, t)
	if err != nil {
		return nil, err
	}
	if eb, ok := t.(EtcdBackups); ok {
		if _, err := eb.LatestEtcdBackup(ctx); err != nil {
			return nil, fmt.Errorf("refusing to destroy etcd's data without a backup to restore: %w", err)
		}
		return Params{"node": cp.Name, "backups": "target"}, nil
	}
	if _, ok := t.(EtcdVolume); !ok {
		return nil, fmt.Errorf("this target gives no access to etcd's data folder")
	}
	if cp.Address == "" {
		return nil, fmt.Errorf("control-plane node %s has no address", cp.Name)
	}
	if _, err := LatestSnapshot(e.BackupDir); err != nil {
		return nil, fmt.Errorf("refusing to destroy etcd's data without a backup to restore: %w", err)
	}
	return Params{"node": cp.Name, "address": cp.Address, "backups": e.BackupDir}, nil
}

// Apply implements Fault.
func (e *EtcdDataLoss) Apply(ctx context.Context, t harness.Target, p Params) error {
	script := `set -e
test -d /var/lib/etcd/member
find /var/lib/etcd/member -type f | while read -r f; do head -c 65536 /dev/urandom > "$f"; done
sync
# etcd may already have died reading its ruined files; either way it is down.
pkill -KILL -x etcd || true`
	if _, err := sh(ctx, t, p["node"], script); err != nil {
		return fmt.Errorf("destroy etcd data on %s: %w", p["node"], err)
	}
	return nil
}

// Revert implements Fault.
func (e *EtcdDataLoss) Revert(ctx context.Context, t harness.Target, p Params) error {
	if healthy, err := etcdHealthy(ctx, t, p["node"]); err == nil && healthy {
		return nil
	}
	if p["backups"] == "target" {
		eb, ok := t.(EtcdBackups)
		if !ok {
			return fmt.Errorf("this target keeps no etcd backups to restore")
		}
		id, err := eb.LatestEtcdBackup(ctx)
		if err != nil {
			return err
		}
		return eb.RestoreEtcdBackup(ctx, p["node"], id)
	}
	snap, err := LatestSnapshot(p["backups"])
	if err != nil {
		return err
	}
	return RestoreEtcd(ctx, t, p["node"], p["address"], snap)
}

// LatestSnapshot is the newest *.db file in dir.
func LatestSnapshot(dir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		return "", err
	}
	if len(matches) == 0 {
		return "", fmt.Errorf("no etcd snapshot in %s", dir)
	}
	sort.Strings(matches) // names start with a sortable time stamp
	return matches[len(matches)-1], nil
}

// manifests of the static pods the restore stops and starts again.
const (
	manifestDir = "/etc/kubernetes/manifests"
	heldDir     = "/etc/kubernetes/kdrill-held"
)

// etcdHealthy reports whether etcd runs on the node with its manifest and
// the API server's in place.
func etcdHealthy(ctx context.Context, t harness.Target, node string) (bool, error) {
	out, err := sh(ctx, t, node, fmt.Sprintf(
		"test -f %[1]s/etcd.yaml && test -f %[1]s/kube-apiserver.yaml && crictl ps --name '^etcd$' --state running -q", manifestDir))
	if err != nil {
		return false, nil
	}
	if strings.TrimSpace(string(out)) == "" {
		return false, nil
	}
	// Running is not enough: a crash-looping etcd runs for a moment.
	time.Sleep(time.Second)
	out, err = t.Exec(ctx, node, "crictl", "ps", "--name", "^etcd$", "--state", "running", "-q")
	return err == nil && strings.TrimSpace(string(out)) != "", nil
}

// RestoreEtcd is the restore runbook: stop the API server and etcd (move
// their static-pod manifests aside), restore the snapshot into a fresh data
// folder in place of the old one, start etcd, then the API server. The
// restored revision is bumped and compacted so that watchers never see the
// store go back in time.
func RestoreEtcd(ctx context.Context, t harness.Target, node, address, snapshot string) error {
	vol, ok := t.(EtcdVolume)
	if !ok {
		return fmt.Errorf("this target gives no access to etcd's data folder")
	}
	hold := fmt.Sprintf(`set -e
mkdir -p %[2]s
for m in kube-apiserver etcd; do
  if [ -f %[1]s/$m.yaml ]; then mv %[1]s/$m.yaml %[2]s/$m.yaml; fi
done`, manifestDir, heldDir)
	if _, err := sh(ctx, t, node, hold); err != nil {
		return fmt.Errorf("stop the API server and etcd: %w", err)
	}
	if err := waitNode(ctx, t, node, 90*time.Second, "no etcd or kube-apiserver container left",
		"test -z \"$(crictl ps --name '^(etcd|kube-apiserver)$' -q)\""); err != nil {
		return err
	}

	dir := vol.EtcdDataDir()
	staging := filepath.Join(dir, "restore")
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	peer := "https://" + address + ":2380"
	if _, err := etcdsnap.Restore(ctx, snapshot, etcdsnap.RestoreOptions{
		DataDir:        staging,
		Name:           node,
		PeerURLs:       []string{peer},
		InitialCluster: node + "=" + peer,
		RevisionBump:   1_000_000,
	}); err != nil {
		return fmt.Errorf("restore %s: %w", snapshot, err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "member")); err != nil {
		return fmt.Errorf("remove the destroyed data: %w", err)
	}
	if err := os.Rename(filepath.Join(staging, "member"), filepath.Join(dir, "member")); err != nil {
		return fmt.Errorf("move the restored data in place: %w", err)
	}
	os.RemoveAll(staging)

	if _, err := sh(ctx, t, node, fmt.Sprintf("if [ -f %[2]s/etcd.yaml ]; then mv %[2]s/etcd.yaml %[1]s/etcd.yaml; fi", manifestDir, heldDir)); err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	if err := waitNode(ctx, t, node, 90*time.Second, "etcd running",
		"test -n \"$(crictl ps --name '^etcd$' --state running -q)\""); err != nil {
		return err
	}
	if _, err := sh(ctx, t, node, fmt.Sprintf("if [ -f %[2]s/kube-apiserver.yaml ]; then mv %[2]s/kube-apiserver.yaml %[1]s/kube-apiserver.yaml; fi", manifestDir, heldDir)); err != nil {
		return fmt.Errorf("start the API server: %w", err)
	}
	return nil
}

// waitNode runs a shell check on the node every second until it passes.
func waitNode(ctx context.Context, t harness.Target, node string, d time.Duration, what, check string) error {
	deadline := time.Now().Add(d)
	for {
		if _, err := sh(ctx, t, node, check); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s on %s: not after %s", what, node, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
