package etcdsnap

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Save streams a snapshot of the member cli talks to into the file at path
// and returns what it holds. The stream goes to a temporary file beside
// path, which is synced, checked as Inspect checks it, and only then renamed
// over path, so path holds either the previous file or a whole new snapshot,
// never a partial one. Save then asks the member for its HashKV at the
// snapshot's revision, so a restore can later be compared with the member
// the snapshot came from.
//
// cli must have exactly one endpoint: a snapshot is one member's state, and
// the hash must come from the same member.
func Save(ctx context.Context, cli *clientv3.Client, path string) (Info, error) {
	info, err := save(ctx, cli, path)
	if err != nil {
		return Info{}, fmt.Errorf("save etcd snapshot to %s: %w", path, err)
	}
	return info, nil
}

func save(ctx context.Context, cli *clientv3.Client, path string) (info Info, err error) {
	eps := cli.Endpoints()
	if len(eps) != 1 {
		return Info{}, fmt.Errorf("the client has %d endpoints; it needs exactly one, the member to snapshot", len(eps))
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// CreateTemp makes the file 0600, which the snapshot keeps: it holds
	// every Secret of the cluster.
	tmp, err := os.CreateTemp(dir, "."+base+".*.part")
	if err != nil {
		return Info{}, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	// The member's ID comes from Status: snapshot responses carry no header.
	st, err := cli.Status(ctx, eps[0])
	if err != nil {
		return Info{}, fmt.Errorf("status of %s: %w", eps[0], err)
	}
	member := st.Header.MemberId

	taken := time.Now().UTC()
	resp, err := cli.SnapshotWithVersion(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("open snapshot stream from %s: %w", eps[0], err)
	}
	defer resp.Snapshot.Close()
	n, err := io.Copy(tmp, resp.Snapshot)
	if err != nil {
		return Info{}, fmt.Errorf("stream snapshot from %s after %d bytes: %w", eps[0], n, err)
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("close %s: %w", tmp.Name(), err)
	}

	info, err = inspect(tmp.Name())
	if err != nil {
		return Info{}, fmt.Errorf("check the %d bytes streamed from %s: %w", n, eps[0], err)
	}
	info.Path = path
	info.TakenAt = taken
	info.MemberID = strconv.FormatUint(member, 16)
	// HashKV at revision 0 means "now", which is not the snapshot's state,
	// so an empty store gets no hash rather than a wrong one.
	if info.Revision > 0 {
		hk, err := cli.HashKV(ctx, eps[0], info.Revision)
		if err != nil {
			return Info{}, fmt.Errorf("hash member %s at revision %d: %w", eps[0], info.Revision, err)
		}
		// An endpoint is an address; should it have moved to another
		// member meanwhile, the hash would describe different data.
		if hk.Header.MemberId != member {
			return Info{}, fmt.Errorf("%s answered as member %x for the hash but as %x before the snapshot", eps[0], hk.Header.MemberId, member)
		}
		info.KVHash = hk.Hash
	}

	if err := os.Rename(tmp.Name(), path); err != nil {
		return Info{}, err
	}
	// The rename is only durable once the directory entry is.
	if err := syncDir(dir); err != nil {
		return Info{}, err
	}
	return info, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
