package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/etcdsnap"
)

// SnapshotStore keeps etcd snapshots in S3, one object per snapshot under
// a prefix: <prefix><UTC time>-r<revision>.db, each the file etcd streams
// (with its sha256 trailer), with the revision, key count and sha256 as
// object metadata. Objects other tools put under the prefix count as
// snapshots too, so the prefix should hold nothing else.
type SnapshotStore struct {
	Bucket string
	Prefix string // "" or ending in "/"

	client  *s3.Client
	presign *s3.PresignClient
	clock   clock.Clock
}

// Snapshot is one snapshot object.
type Snapshot struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// URI is the snapshot's s3:// address.
func (s Snapshot) URI(bucket string) string { return "s3://" + bucket + "/" + s.Key }

// ErrNoSnapshot is returned by Latest when the prefix holds no snapshot.
var ErrNoSnapshot = errors.New("no etcd snapshot in S3")

// Snapshots returns the store Options.BackupBucket and BackupPrefix name; no
// bucket is a UserError.
func (p *Provider) Snapshots() (*SnapshotStore, error) {
	if p.o.BackupBucket == "" {
		return nil, &UserError{Msg: "no S3 bucket for etcd snapshots: pass --aws-backup-bucket"}
	}
	return &SnapshotStore{Bucket: p.o.BackupBucket, Prefix: p.o.BackupPrefix, client: p.s3, presign: p.presign, clock: p.o.Clock}, nil
}

// Upload checks the snapshot file at path as etcdsnap.Inspect does and
// puts it in the store; a corrupt file is never uploaded.
func (s *SnapshotStore) Upload(ctx context.Context, path string) (Snapshot, error) {
	info, err := etcdsnap.Inspect(path)
	if err != nil {
		return Snapshot{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Snapshot{}, err
	}
	defer f.Close()
	key := fmt.Sprintf("%s%s-r%d.db", s.Prefix, s.clock.Now().UTC().Format("20060102T150405Z"), info.Revision)
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        awssdk.String(s.Bucket),
		Key:           awssdk.String(key),
		Body:          f,
		ContentLength: awssdk.Int64(info.Size),
		ContentType:   awssdk.String("application/octet-stream"),
		Metadata: map[string]string{
			"etcd-revision": strconv.FormatInt(info.Revision, 10),
			"etcd-keys":     strconv.Itoa(info.TotalKeys),
			"sha256":        info.SHA256,
		},
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("upload %s to s3://%s/%s: %w", path, s.Bucket, key, err)
	}
	return Snapshot{Key: key, Size: info.Size, LastModified: s.clock.Now()}, nil
}

// List returns the snapshots under the prefix, oldest first.
func (s *SnapshotStore) List(ctx context.Context) ([]Snapshot, error) {
	var out []Snapshot
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: awssdk.String(s.Bucket), Prefix: awssdk.String(s.Prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.Bucket, s.Prefix, err)
		}
		for _, o := range page.Contents {
			key := awssdk.ToString(o.Key)
			if strings.HasSuffix(key, "/") || strings.HasPrefix(key, s.Prefix+controlPlaneFolder) { // a folder marker, or not a snapshot
				continue
			}
			out = append(out, Snapshot{Key: key, Size: awssdk.ToInt64(o.Size), LastModified: awssdk.ToTime(o.LastModified)})
		}
	}
	slices.SortFunc(out, func(a, b Snapshot) int {
		if c := a.LastModified.Compare(b.LastModified); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// Latest returns the newest snapshot, or an error wrapping ErrNoSnapshot.
func (s *SnapshotStore) Latest(ctx context.Context) (Snapshot, error) {
	all, err := s.List(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if len(all) == 0 {
		return Snapshot{}, fmt.Errorf("%w under s3://%s/%s", ErrNoSnapshot, s.Bucket, s.Prefix)
	}
	return all[len(all)-1], nil
}

// Download writes the snapshot at key to path and checks it as
// etcdsnap.Inspect does. path is written atomically, readable by the owner
// only (a snapshot holds every Secret of the cluster).
func (s *SnapshotStore) Download(ctx context.Context, key, path string) (info etcdsnap.Info, err error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(s.Bucket), Key: awssdk.String(key)})
	if err != nil {
		return etcdsnap.Info{}, fmt.Errorf("download s3://%s/%s: %w", s.Bucket, key, err)
	}
	defer out.Body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return etcdsnap.Info{}, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, out.Body); err != nil {
		return etcdsnap.Info{}, fmt.Errorf("download s3://%s/%s: %w", s.Bucket, key, err)
	}
	if err := tmp.Sync(); err != nil {
		return etcdsnap.Info{}, err
	}
	if err := tmp.Close(); err != nil {
		return etcdsnap.Info{}, err
	}
	info, err = etcdsnap.Inspect(tmp.Name())
	if err != nil {
		return etcdsnap.Info{}, fmt.Errorf("s3://%s/%s: %w", s.Bucket, key, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return etcdsnap.Info{}, err
	}
	info.Path = path
	return info, nil
}

// DownloadLatest downloads the newest snapshot into dir and returns it with
// the file's path.
func (s *SnapshotStore) DownloadLatest(ctx context.Context, dir string) (Snapshot, string, error) {
	snap, err := s.Latest(ctx)
	if err != nil {
		return Snapshot{}, "", err
	}
	path := filepath.Join(dir, filepath.Base(snap.Key))
	if _, err := s.Download(ctx, snap.Key, path); err != nil {
		return Snapshot{}, "", err
	}
	return snap, path, nil
}

// PresignGet returns a URL that fetches the object at key with a plain GET
// until ttl has passed, so a node can download a snapshot without AWS
// credentials of its own.
func (s *SnapshotStore) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(s.Bucket), Key: awssdk.String(key)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign s3://%s/%s: %w", s.Bucket, key, err)
	}
	return req.URL, nil
}

// PresignPut returns a URL that uploads the object at key with a plain PUT
// (Content-Length required, as for any S3 PUT) until ttl has passed, so a
// node can upload a backup without AWS credentials of its own.
func (s *SnapshotStore) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(s.Bucket), Key: awssdk.String(key)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign the upload of s3://%s/%s: %w", s.Bucket, key, err)
	}
	return req.URL, nil
}

// restoreURLTTL bounds how long the presigned URL in a restore command
// works; SSM keeps the command text in its history.
const restoreURLTTL = 15 * time.Minute

// RestoreEtcd runs the restore runbook on a control-plane node over SSM:
// the node downloads the snapshot from a presigned URL, moves the API
// server's and etcd's static-pod manifests aside, restores the snapshot
// into a fresh member folder with the member flags of etcd's own manifest
// (revision bumped and compacted, as faults.RestoreEtcd does), starts etcd,
// then the API server. It uses etcdutl on the node, or else etcdutl from
// the etcd image through ctr. If anything fails before the new data is in
// place, the manifests are put back.
func (p *Provider) RestoreEtcd(ctx context.Context, node string, snap Snapshot) error {
	store, err := p.Snapshots()
	if err != nil {
		return err
	}
	url, err := store.PresignGet(ctx, snap.Key, restoreURLTTL)
	if err != nil {
		return err
	}
	if _, err := p.Exec(ctx, node, "sh", "-c", restoreScript(url)); err != nil {
		return fmt.Errorf("restore etcd on %s from %s: %w", node, snap.URI(store.Bucket), err)
	}
	return nil
}

// restoreScript is the runbook RestoreEtcd runs; url is quoted into it.
func restoreScript(url string) string {
	return "set -eu\nurl=" + shellQuote(url) + "\n" + restoreBody
}

const restoreBody = `manifests=/etc/kubernetes/manifests
held=/etc/kubernetes/kdrill-held
manifest=$manifests/etcd.yaml
[ -f "$manifest" ] || manifest=$held/etcd.yaml
if [ ! -f "$manifest" ]; then echo "no etcd static-pod manifest in $manifests or $held" >&2; exit 1; fi
flag() { sed -n "s/^[[:space:]]*- --$1=//p" "$manifest" | head -n 1; }
name=$(flag name)
peers=$(flag initial-advertise-peer-urls)
cluster=$(flag initial-cluster)
token=$(flag initial-cluster-token)
datadir=$(flag data-dir)
image=$(sed -n 's/^[[:space:]]*image:[[:space:]]*//p' "$manifest" | head -n 1)
: "${name:=default}" "${token:=etcd-cluster}" "${datadir:=/var/lib/etcd}" "${peers:=http://localhost:2380}"
: "${cluster:=$name=$peers}"

work=$(mktemp -d)
swapped=no
cleanup() {
  status=$?
  rm -rf "$work"
  if [ "$status" -ne 0 ] && [ "$swapped" = no ]; then
    for m in etcd kube-apiserver; do
      if [ -f "$held/$m.yaml" ]; then mv "$held/$m.yaml" "$manifests/$m.yaml"; fi
    done
  fi
}
trap cleanup EXIT
wait_for() {
  i=0
  until eval "$2"; do
    i=$((i + 1))
    if [ "$i" -ge 90 ]; then echo "timed out after 90s waiting for $1" >&2; exit 1; fi
    sleep 1
  done
}

# Fetch first: nothing is stopped if the snapshot cannot be had.
if command -v curl >/dev/null 2>&1; then
  curl -fsS --retry 3 -o "$work/snapshot.db" "$url"
else
  wget -q -O "$work/snapshot.db" "$url"
fi

mkdir -p "$held"
for m in kube-apiserver etcd; do
  if [ -f "$manifests/$m.yaml" ]; then mv "$manifests/$m.yaml" "$held/$m.yaml"; fi
done
wait_for "etcd and kube-apiserver to stop" 'test -z "$(crictl ps --name "^(etcd|kube-apiserver)$" -q)"'

# Restore beside the old data, on the same file system, then swap.
staging=$datadir/kdrill-restore
rm -rf "$staging"
set -- snapshot restore "$work/snapshot.db" --data-dir "$staging" --name "$name" \
  --initial-advertise-peer-urls "$peers" --initial-cluster "$cluster" \
  --initial-cluster-token "$token" --bump-revision 1000000 --mark-compacted
if command -v etcdutl >/dev/null 2>&1; then
  etcdutl "$@"
elif [ -n "$image" ] && command -v ctr >/dev/null 2>&1; then
  ctr -n k8s.io run --rm \
    --mount "type=bind,src=$work,dst=$work,options=rbind:ro" \
    --mount "type=bind,src=$datadir,dst=$datadir,options=rbind:rw" \
    "$image" "kdrill-etcd-restore-$$" etcdutl "$@"
else
  echo "neither etcdutl nor ctr is on the node to restore with" >&2
  exit 1
fi
rm -rf "$datadir/member.kdrill-old"
if [ -d "$datadir/member" ]; then mv "$datadir/member" "$datadir/member.kdrill-old"; fi
mv "$staging/member" "$datadir/member"
swapped=yes
rm -rf "$staging"

mv "$held/etcd.yaml" "$manifests/etcd.yaml"
wait_for "etcd to run" 'test -n "$(crictl ps --name "^etcd$" --state running -q)"'
if [ -f "$held/kube-apiserver.yaml" ]; then mv "$held/kube-apiserver.yaml" "$manifests/kube-apiserver.yaml"; fi
rm -rf "$datadir/member.kdrill-old"
echo "etcd restored into $datadir"
`
