package drill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/etcdsnap"
	"github.com/kdrill/kdrill/harness/timeline"
)

// BackupTaken is the event of a scheduled etcd snapshot.
const BackupTaken timeline.EventKind = "backup-taken"

// backups takes an etcd snapshot every interval, starting at once, until
// ctx ends: the seed's "etcd backup" mitigation on a schedule. The snapshot
// goes into dir, through an etcd client, or where the target keeps its
// own backups (remote, with the control-plane node cp).
type backups struct {
	target   harness.EtcdTarget
	dir      string
	remote   faults.EtcdBackups
	cp       string
	interval time.Duration
	events   *timeline.EventLog
}

// run takes snapshots until ctx ends. first is closed after the first
// snapshot attempt, successful or not.
func (b *backups) run(ctx context.Context, first chan<- error) {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	err := b.take(ctx)
	first <- err
	close(first)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.take(ctx)
		}
	}
}

func (b *backups) take(ctx context.Context) error {
	if b.remote != nil {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		started := time.Now()
		bk, err := b.remote.BackupEtcd(sctx, b.cp)
		if err != nil {
			return fmt.Errorf("etcd backup: %w", err)
		}
		b.events.Record(BackupTaken, "backup", map[string]string{
			"path": bk.ID, "revision": fmt.Sprint(bk.Revision), "keys": fmt.Sprint(bk.Keys),
			"started": started.Format(time.RFC3339Nano),
		})
		return nil
	}
	e, err := b.target.Etcd(ctx)
	if err != nil {
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints[:1], TLS: e.TLS, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	started := time.Now()
	path := filepath.Join(b.dir, fmt.Sprintf("%d.db", started.UnixNano()))
	info, err := etcdsnap.Save(sctx, cli, path)
	if err != nil {
		return fmt.Errorf("etcd backup: %w", err)
	}
	b.events.Record(BackupTaken, "backup", map[string]string{
		"path": path, "revision": fmt.Sprint(info.Revision), "keys": fmt.Sprint(info.TotalKeys),
		// Every write acknowledged before this is in the snapshot; the
		// event's own time is when the snapshot was complete.
		"started": started.Format(time.RFC3339Nano),
	})
	return nil
}
