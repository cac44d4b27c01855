package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kdrill/kdrill/faults"
)

// The provider keeps etcd's backups in S3 for the drills.
var _ faults.EtcdBackups = (*Provider)(nil)

// BackupEtcd snapshots the control plane's etcd on the node, with the
// etcdctl of etcd's own image, and the node uploads the snapshot straight
// to S3 through a presigned PUT URL: it passes neither through SSM, whose
// output is capped, nor through the machine running kdrill, and the node
// needs no AWS credentials.
func (p *Provider) BackupEtcd(ctx context.Context, node string) (faults.EtcdBackup, error) {
	store, err := p.Snapshots()
	if err != nil {
		return faults.EtcdBackup{}, err
	}
	key := store.Prefix + strconv.FormatInt(time.Now().UnixNano(), 10) + ".db"
	url, err := store.PresignPut(ctx, key, restoreURLTTL)
	if err != nil {
		return faults.EtcdBackup{}, err
	}
	out, err := p.Exec(ctx, node, "sh", "-c", "set -eu\nurl="+shellQuote(url)+"\n"+backupBody)
	if err != nil {
		return faults.EtcdBackup{}, fmt.Errorf("back up etcd on %s to s3://%s/%s: %w", node, store.Bucket, key, err)
	}
	var st struct {
		Revision int64 `json:"revision"`
		TotalKey int64 `json:"totalKey"`
	}
	if err := json.Unmarshal([]byte(lastJSONLine(string(out))), &st); err != nil {
		return faults.EtcdBackup{}, fmt.Errorf("read the snapshot's status from %q: %w", out, err)
	}
	return faults.EtcdBackup{ID: key, Revision: st.Revision, Keys: st.TotalKey}, nil
}

// backupBody saves the snapshot inside etcd's container (its data folder
// is the node's /var/lib/etcd), prints etcdutl's status of it as JSON and
// uploads it.
const backupBody = `id=$(crictl ps --name '^etcd$' --state running -q | head -n 1)
[ -n "$id" ] || { echo "etcd is not running on this node" >&2; exit 1; }
f=/var/lib/etcd/kdrill-backup-$$.db
trap 'rm -f "$f" "$f.part"' EXIT
pki=/etc/kubernetes/pki/etcd
crictl exec "$id" etcdctl --endpoints=https://127.0.0.1:2379 --cacert=$pki/ca.crt \
  --cert=$pki/healthcheck-client.crt --key=$pki/healthcheck-client.key snapshot save "$f" >/dev/null
crictl exec "$id" etcdutl snapshot status "$f" -w json
curl -sSf --retry 2 -X PUT -H 'Content-Type: application/octet-stream' -T "$f" "$url" >/dev/null
`

// lastJSONLine is the last line of out that looks like a JSON object.
func lastJSONLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}

// LatestEtcdBackup is the key of the newest snapshot in the store.
func (p *Provider) LatestEtcdBackup(ctx context.Context) (string, error) {
	store, err := p.Snapshots()
	if err != nil {
		return "", err
	}
	s, err := store.Latest(ctx)
	if err != nil {
		return "", err
	}
	return s.Key, nil
}

// RestoreEtcdBackup restores the snapshot at key on the node (RestoreEtcd).
func (p *Provider) RestoreEtcdBackup(ctx context.Context, node, key string) error {
	return p.RestoreEtcd(ctx, node, Snapshot{Key: key})
}
