package etcdsnap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/etcdutl/v3/snapshot"

	"github.com/kdrill/kdrill/harness/input"
)

// Defaults Restore uses for the fields of RestoreOptions left empty; they
// are etcd's own defaults, so a member started with no cluster flags
// matches a restore made with no options.
const (
	DefaultName                = "default"
	DefaultPeerURL             = "http://localhost:2380"
	DefaultInitialClusterToken = "etcd-cluster"
)

// RestoreOptions says where Restore writes and which member the restored
// data directory belongs to. The member fields mean what etcd's flags of the
// same names mean. For a kind control plane, whose etcd is a single member
// named after its node, they are
//
//	RestoreOptions{
//		DataDir:  dir,
//		Name:     "kdrill-control-plane",
//		PeerURLs: []string{"https://172.18.0.2:2380"},
//	}
//
// with the node's name and address.
type RestoreOptions struct {
	// DataDir is the data directory to create. It must not exist or be
	// empty.
	DataDir string
	// Name is the member's name (--name); DefaultName when empty.
	Name string
	// PeerURLs are the member's advertised peer URLs
	// (--initial-advertise-peer-urls); DefaultPeerURL when empty.
	PeerURLs []string
	// InitialCluster lists every member as name=peerURL pairs
	// (--initial-cluster); when empty, this member alone at PeerURLs.
	InitialCluster string
	// InitialClusterToken is --initial-cluster-token;
	// DefaultInitialClusterToken when empty.
	InitialClusterToken string
	// RevisionBump raises the restored revision by this much and marks it
	// compacted, as etcdutl's --bump-revision and --mark-compacted do.
	// Restores under a Kubernetes API server want it: watchers and
	// informers remember revisions, and a store that went back in time
	// would hand them stale data as new. 0 leaves the revision alone.
	RevisionBump uint64
	// Logger receives etcd's restore log; nil discards it.
	Logger *slog.Logger
}

// withDefaults fills the empty fields and checks the rest; mistakes are
// *input.Error because the options come from drill configuration.
func (o RestoreOptions) withDefaults() (RestoreOptions, error) {
	if o.DataDir == "" {
		return o, input.Errorf("", 0, "DataDir", "no target data directory given")
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if len(o.PeerURLs) == 0 {
		o.PeerURLs = []string{DefaultPeerURL}
	}
	if _, err := types.NewURLs(o.PeerURLs); err != nil {
		return o, input.Errorf("", 0, "PeerURLs", "%v", err)
	}
	if o.InitialCluster == "" {
		pairs := make([]string, len(o.PeerURLs))
		for i, u := range o.PeerURLs {
			pairs[i] = o.Name + "=" + u
		}
		o.InitialCluster = strings.Join(pairs, ",")
	}
	ics, err := types.NewURLsMap(o.InitialCluster)
	if err != nil {
		return o, input.Errorf("", 0, "InitialCluster", "%q: %v", o.InitialCluster, err)
	}
	if _, ok := ics[o.Name]; !ok {
		return o, input.Errorf("", 0, "InitialCluster", "%q has no member named %q", o.InitialCluster, o.Name)
	}
	if o.InitialClusterToken == "" {
		o.InitialClusterToken = DefaultInitialClusterToken
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Restore makes a new data directory opts.DataDir from the snapshot at path,
// for the member opts describes, as `etcdutl snapshot restore` does. It
// checks the snapshot as Inspect does before writing anything, refuses a
// target that exists and is not empty (wrapping ErrNotEmpty), and checks
// afterwards that the restored database holds the snapshot's revision (plus
// opts.RevisionBump) and key count. The returned Info describes the
// restored database. If Restore fails, the target is left as it was found.
//
// Restoring is local disk work that etcd's package cannot interrupt; ctx is
// checked before each step.
func Restore(ctx context.Context, path string, opts RestoreOptions) (Info, error) {
	info, err := restore(ctx, path, opts)
	if err != nil {
		return Info{}, fmt.Errorf("restore etcd snapshot %s into %s: %w", path, opts.DataDir, err)
	}
	return info, nil
}

func restore(ctx context.Context, path string, opts RestoreOptions) (info Info, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return Info{}, err
	}
	existed, err := checkTarget(opts.DataDir)
	if err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	src, err := inspect(path)
	if err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}

	defer func() {
		if err != nil {
			if cerr := clearTarget(opts.DataDir, existed); cerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up: %w", cerr))
			}
		}
	}()
	m := snapshot.NewV3(newZapLogger(opts.Logger))
	if err := m.Restore(snapshot.RestoreConfig{
		SnapshotPath:        path,
		Name:                opts.Name,
		OutputDataDir:       opts.DataDir,
		PeerURLs:            opts.PeerURLs,
		InitialCluster:      opts.InitialCluster,
		InitialClusterToken: opts.InitialClusterToken,
		RevisionBump:        opts.RevisionBump,
		MarkCompacted:       opts.RevisionBump > 0,
	}); err != nil {
		return Info{}, err
	}

	db := filepath.Join(opts.DataDir, "member", "snap", "db")
	st, err := dbStatus(db)
	if err != nil {
		return Info{}, fmt.Errorf("check restored database: %w", err)
	}
	keys := st.TotalKey
	if opts.RevisionBump > 0 && keys == src.TotalKeys+1 {
		// The bump is recorded as a value-less entry at the new revision,
		// which etcdutl's status counts as a key named "". A snapshot of
		// a store that was itself restored with a bump has that key
		// already, and then the count does not grow.
		keys--
	}
	wantRev := src.Revision + int64(opts.RevisionBump)
	if st.Revision != wantRev || keys != src.TotalKeys {
		return Info{}, fmt.Errorf("restored database has revision %d and %d keys, want revision %d and %d keys", st.Revision, keys, wantRev, src.TotalKeys)
	}
	fi, err := os.Stat(db)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Path:           opts.DataDir,
		Revision:       st.Revision,
		Hash:           st.Hash,
		TotalKeys:      keys,
		Size:           fi.Size(),
		StorageVersion: st.Version,
	}, nil
}

// checkTarget reports whether dir exists, and fails unless it is missing or
// an empty directory.
func checkTarget(dir string) (existed bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("check target: %w", err)
	case len(entries) > 0:
		return true, fmt.Errorf("%w: it holds %s", ErrNotEmpty, entries[0].Name())
	}
	return true, nil
}

// clearTarget undoes a failed restore: it removes dir if Restore created it,
// and empties it if it was an empty directory before.
func clearTarget(dir string, existed bool) error {
	if !existed {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}
