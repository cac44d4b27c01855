package aws

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/lease"
	"go.etcd.io/etcd/server/v3/storage/backend"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.uber.org/zap"

	"github.com/kdrill/kdrill/harness/clock"
)

// snapshotBytes is a snapshot of a store holding n keys, the way a member
// streams one: its backend's snapshot with the sha256 appended.
func snapshotBytes(t *testing.T, n int) []byte {
	t.Helper()
	be := backend.NewDefaultBackend(zap.NewNop(), filepath.Join(t.TempDir(), "db"))
	s := mvcc.NewStore(zap.NewNop(), be, &lease.FakeLessor{}, mvcc.StoreConfig{})
	for i := range n {
		s.Put([]byte(fmt.Sprintf("/registry/pods/default/p%d", i)), []byte("v"), lease.NoLease)
	}
	be.ForceCommit()
	var buf bytes.Buffer
	snap := be.Snapshot()
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Close()
	s.Close()
	be.Close()
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	return buf.Bytes()
}

// s3Bucket is an in-memory bucket behind the fake's S3 operations.
type s3Bucket struct {
	mu      sync.Mutex
	name    string
	objects map[string][]byte
	times   map[string]time.Time
}

func serveBucket(f *fakeAWS, name string) *s3Bucket {
	b := &s3Bucket{name: name, objects: map[string][]byte{}, times: map[string]time.Time{}}
	f.on("s3:PutObject", func(c call) reply {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.objects[c.Key], b.times[c.Key] = c.Body, time.Now().UTC()
		return reply{Header: map[string]string{"ETag": `"e"`}}
	})
	f.on("s3:GetObject", func(c call) reply {
		b.mu.Lock()
		defer b.mu.Unlock()
		body, ok := b.objects[c.Key]
		if !ok {
			return reply{Status: 404, Header: map[string]string{"Content-Type": "application/xml"}, Body: []byte("<Error><Code>NoSuchKey</Code><Message>no</Message></Error>")}
		}
		return reply{Header: map[string]string{"Content-Type": "application/octet-stream", "Content-Length": fmt.Sprint(len(body))}, Body: body}
	})
	f.on("s3:ListObjectsV2", func(c call) reply {
		b.mu.Lock()
		defer b.mu.Unlock()
		var items strings.Builder
		n := 0
		for k, v := range b.objects {
			if !strings.HasPrefix(k, c.Query.Get("prefix")) {
				continue
			}
			n++
			fmt.Fprintf(&items, "<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>&quot;e&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>",
				k, b.times[k].Format("2006-01-02T15:04:05.000Z"), len(v))
		}
		return xmlOK(fmt.Sprintf(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>%s</ListBucketResult>`,
			b.name, c.Query.Get("prefix"), n, items.String()))
	})
	return b
}

func (b *s3Bucket) put(key string, body []byte, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[key], b.times[key] = body, at
}

func TestSnapshotStore(t *testing.T) {
	f := newFakeAWS(t)
	o := testOptions(f)
	o.BackupBucket, o.BackupPrefix = "drill-backups", "etcd"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o.Clock = clock.NewFake(now)
	p := openFake(t, f, o)
	b := serveBucket(f, "drill-backups")
	store, err := p.Snapshots()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)

	if _, err := store.Latest(ctx); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("Latest of an empty store: %v", err)
	}

	data := snapshotBytes(t, 3)
	path := filepath.Join(t.TempDir(), "snap.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	up, err := store.Upload(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up.Key, "etcd/20260301T120000Z-r") || !strings.HasSuffix(up.Key, ".db") {
		t.Errorf("key = %q", up.Key)
	}
	puts := f.callsTo("s3:PutObject")
	if len(puts) != 1 {
		t.Fatalf("%d PutObject calls", len(puts))
	}
	put := puts[0]
	if put.Bucket != "drill-backups" || put.Key != up.Key {
		t.Errorf("PutObject to %s/%s, want path-style drill-backups/%s", put.Bucket, put.Key, up.Key)
	}
	if !bytes.Equal(put.Body, data) {
		t.Errorf("PutObject body differs from the file (%d bytes, want %d)", len(put.Body), len(data))
	}
	if put.Header.Get("X-Amz-Meta-Etcd-Keys") != "3" || put.Header.Get("X-Amz-Meta-Sha256") == "" || put.Header.Get("X-Amz-Meta-Etcd-Revision") == "" {
		t.Errorf("metadata headers: %v", put.Header)
	}

	// A corrupt file is never uploaded.
	bad := filepath.Join(t.TempDir(), "bad.db")
	os.WriteFile(bad, data[:len(data)-1], 0o600)
	if _, err := store.Upload(ctx, bad); err == nil {
		t.Error("Upload of a truncated snapshot succeeded")
	}
	if n := len(f.callsTo("s3:PutObject")); n != 1 {
		t.Errorf("%d PutObject calls after a corrupt upload, want 1", n)
	}

	// List sorts by time; other prefixes and folder markers are not listed.
	b.put("etcd/old.db", data, now.Add(-2*time.Hour))
	b.put("etcd/", nil, now.Add(-3*time.Hour))
	b.put("other/x.db", data, now)
	all, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Key != "etcd/old.db" || all[1].Key != up.Key || all[0].Size != int64(len(data)) {
		t.Errorf("List = %+v", all)
	}
	if q := f.callsTo("s3:ListObjectsV2")[0].Query; q.Get("prefix") != "etcd/" || q.Get("list-type") != "2" {
		t.Errorf("ListObjectsV2 query = %v", q)
	}

	dir := t.TempDir()
	latest, file, err := store.DownloadLatest(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Key != up.Key {
		t.Errorf("DownloadLatest = %s, want %s", latest.Key, up.Key)
	}
	got, _ := os.ReadFile(file)
	if !bytes.Equal(got, data) {
		t.Error("downloaded file differs")
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("downloaded file mode %v, want 0600", fi.Mode().Perm())
	}

	// A corrupt object fails the download and leaves no file.
	b.put("etcd/zz-corrupt.db", []byte("not a snapshot"), time.Now().Add(time.Hour)) // after the upload, which the fake stamps with the real time
	if _, _, err := store.DownloadLatest(ctx, dir); err == nil || !strings.Contains(err.Error(), "s3://drill-backups/etcd/zz-corrupt.db") {
		t.Errorf("DownloadLatest of a corrupt object: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("download folder holds %d files, want the first download only", len(entries))
	}

	u, err := store.PresignGet(ctx, up.Key, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Path != "/drill-backups/"+up.Key || parsed.Query().Get("X-Amz-Expires") != "900" || parsed.Query().Get("X-Amz-Signature") == "" {
		t.Errorf("presigned URL = %s", u)
	}
}

func TestSnapshotsNeedABucket(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	_, err := p.Snapshots()
	var ue *UserError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--aws-backup-bucket") {
		t.Errorf("Snapshots without a bucket: %v", err)
	}
}

func TestRestoreEtcd(t *testing.T) {
	f := newFakeAWS(t)
	o := testOptions(f)
	o.BackupBucket = "drill-backups"
	p := openFake(t, f, o)
	ssmScript(f, invocation("Success", 0, "etcd restored into /var/lib/etcd\n", ""))
	snap := Snapshot{Key: "20260301T120000Z-r42.db"}
	if err := p.RestoreEtcd(testContext(t), "ip-10-0-1-10.ec2.internal", snap); err != nil {
		t.Fatal(err)
	}
	sent := f.callsTo("ssm:SendCommand")
	if len(sent) != 1 {
		t.Fatalf("%d SendCommand calls", len(sent))
	}
	params, _ := sent[0].JSON["Parameters"].(map[string]any)
	cmds, _ := params["commands"].([]any)
	line, _ := cmds[0].(string)
	if !strings.HasPrefix(line, "sh -c ") {
		t.Fatalf("command = %q", line)
	}
	// Unquote the script the way the node's shell will, then check it.
	script, err := exec.Command("sh", "-c", "set -- "+strings.TrimPrefix(line, "sh -c ")+`; printf %s "$1"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "url='"+f.URL+"/drill-backups/20260301T120000Z-r42.db?") || !strings.Contains(string(script), "X-Amz-Expires=900") {
		t.Errorf("the script does not fetch the presigned URL:\n%s", script)
	}
	if out, err := exec.Command("sh", "-n", "-c", string(script)).CombinedOutput(); err != nil {
		t.Errorf("the restore script does not parse: %v\n%s", err, out)
	}
	for _, step := range []string{"--bump-revision 1000000 --mark-compacted", "ctr -n k8s.io run", "mv \"$held/etcd.yaml\" \"$manifests/etcd.yaml\""} {
		if !strings.Contains(string(script), step) {
			t.Errorf("the restore script lacks %q", step)
		}
	}
}
