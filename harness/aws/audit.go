package aws

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kdrill/kdrill/harness/etcdsnap"
)

// Check is one mitigation Audit looked for. slo.Check measures a drill
// against a numeric bound; an audit check only holds or not, with why.
type Check struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Reason string `json:"reason"`
}

// The checks Audit makes, in order.
const (
	CheckStatusAlarm = "status-check-alarm"
	CheckEtcdVolume  = "etcd-on-persistent-volume"
	CheckEtcdBackup  = "etcd-backup-restorable"
	CheckZone        = "control-plane-zone"
)

// Audit checks, before a game day, that the seed's mitigations are in place
// for the control plane: the status-check alarm with the seed's settings,
// etcd's data on an EBS volume that outlives the instance, a recent etcd
// snapshot in S3 that restores, and the control plane either in a zone with
// workers or re-provisionable into one. It changes nothing in AWS; the
// restore goes into a scratch folder on this machine. A check that cannot
// be made fails with the reason.
func (p *Provider) Audit(ctx context.Context) []Check {
	names := []string{CheckStatusAlarm, CheckEtcdVolume, CheckEtcdBackup, CheckZone}
	cp, workers, err := p.cluster(ctx)
	if err != nil {
		out := make([]Check, len(names))
		for i, n := range names {
			out[i] = Check{Name: n, Reason: "could not find the cluster's instances: " + err.Error()}
		}
		return out
	}
	return []Check{
		p.auditAlarm(ctx, cp),
		p.auditVolume(ctx, cp),
		p.auditBackup(ctx),
		p.auditZone(ctx, cp, workers),
	}
}

func pass(name, format string, args ...any) Check {
	return Check{Name: name, Pass: true, Reason: fmt.Sprintf(format, args...)}
}

func fail(name, format string, args ...any) Check {
	return Check{Name: name, Reason: fmt.Sprintf(format, args...)}
}

// auditAlarm: some alarm on the instance's StatusCheckFailed_Instance (or
// named as kdrill names it) has every one of the seed's settings.
func (p *Provider) auditAlarm(ctx context.Context, cp instance) Check {
	alarms, err := p.statusAlarms(ctx, cp.ID)
	if err != nil {
		return fail(CheckStatusAlarm, "could not read the alarms: %v", err)
	}
	if len(alarms) == 0 {
		return fail(CheckStatusAlarm, "no CloudWatch alarm on %s %s of %s (and none named %s); 'kdrill' can create it (EnsureStatusCheckAlarm)",
			alarmNamespace, alarmMetric, cp.ID, StatusCheckAlarmName(cp.ID))
	}
	var problems []string
	for _, a := range alarms {
		m := alarmMismatches(a, p.region, cp.ID)
		if len(m) == 0 {
			return pass(CheckStatusAlarm, "alarm %s reboots %s when %s >= 1 for 2 of 2 periods of 60 s",
				awssdk.ToString(a.AlarmName), cp.ID, alarmMetric)
		}
		problems = append(problems, fmt.Sprintf("alarm %s: %s", awssdk.ToString(a.AlarmName), strings.Join(m, "; ")))
	}
	return fail(CheckStatusAlarm, "%s", strings.Join(problems, " | "))
}

// volumeScript prints where etcd's data directory is mounted from: the
// source device, its whole disk, and that disk's serial number (on Nitro
// instances, the EBS volume id without its dash).
const volumeScript = `datadir=$(sed -n 's/^[[:space:]]*- --data-dir=//p' /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/kdrill-held/etcd.yaml 2>/dev/null | head -n 1)
: "${datadir:=/var/lib/etcd}"
src=$(findmnt -no SOURCE --target "$datadir" 2>/dev/null || df -P "$datadir" | awk 'NR == 2 { print $1 }')
dev=${src%%\[*}
disk=$(lsblk -ndo PKNAME "$dev" 2>/dev/null || true)
[ -n "$disk" ] || disk=${dev##*/}
serial=$(cat "/sys/block/$disk/device/serial" 2>/dev/null || lsblk -ndo SERIAL "/dev/$disk" 2>/dev/null || true)
echo "datadir=$datadir"
echo "source=$src"
echo "disk=$disk"
echo "serial=$serial"
`

// auditVolume: etcd's data directory is on an EBS volume attached with
// DeleteOnTermination off, so it outlives the instance.
func (p *Provider) auditVolume(ctx context.Context, cp instance) Check {
	out, err := p.Exec(ctx, cp.Node, "sh", "-c", volumeScript)
	if err != nil {
		return fail(CheckEtcdVolume, "could not find etcd's data directory's device: %v", err)
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = strings.TrimSpace(v)
		}
	}
	dir, src, disk := kv["datadir"], kv["source"], kv["disk"]
	if !strings.HasPrefix(src, "/dev/") {
		return fail(CheckEtcdVolume, "etcd's data directory %s is on %q, not a block device", dir, src)
	}
	vols, err := p.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("attachment.instance-id"), Values: []string{cp.ID}}},
	})
	if err != nil {
		return fail(CheckEtcdVolume, "could not list the volumes of %s: %v", cp.ID, p.classify(err))
	}
	volID := volumeIDFromSerial(kv["serial"])
	var seen []string
	for _, v := range vols.Volumes {
		id := awssdk.ToString(v.VolumeId)
		for _, a := range v.Attachments {
			if awssdk.ToString(a.InstanceId) != cp.ID {
				continue
			}
			seen = append(seen, id+" "+awssdk.ToString(a.Device))
			if id != volID && !sameDisk(awssdk.ToString(a.Device), disk) {
				continue
			}
			if awssdk.ToBool(a.DeleteOnTermination) {
				return fail(CheckEtcdVolume, "etcd's data directory %s is on EBS volume %s (%s), which is deleted when %s terminates (DeleteOnTermination=true); turn that off",
					dir, id, src, cp.ID)
			}
			return pass(CheckEtcdVolume, "etcd's data directory %s is on EBS volume %s (%s), kept when %s terminates", dir, id, src, cp.ID)
		}
	}
	return fail(CheckEtcdVolume, "etcd's data directory %s is on %s, which is none of the EBS volumes attached to %s [%s]: instance storage does not survive a stop",
		dir, src, cp.ID, strings.Join(seen, ", "))
}

var nitroSerial = regexp.MustCompile(`^vol-?([0-9a-f]+)$`)

// volumeIDFromSerial turns an NVMe EBS disk's serial (vol0123abcd) into the
// volume id (vol-0123abcd).
func volumeIDFromSerial(serial string) string {
	m := nitroSerial.FindStringSubmatch(serial)
	if m == nil {
		return ""
	}
	return "vol-" + m[1]
}

// sameDisk compares an attachment's device name (/dev/sdf, /dev/xvdf,
// /dev/sda1) with the disk the kernel named (xvdf, sdf): Xen guests see
// sdX as xvdX, and root device names may carry a partition number.
func sameDisk(device, disk string) bool {
	norm := func(s string) string {
		s = strings.TrimPrefix(s, "/dev/")
		if rest, ok := strings.CutPrefix(s, "xvd"); ok {
			s = "sd" + rest
		}
		return strings.TrimRight(s, "0123456789")
	}
	return disk != "" && !strings.HasPrefix(disk, "nvme") && norm(device) == norm(disk)
}

// auditBackup: the newest snapshot in S3 is younger than the backup
// interval and restores into a data directory holding keys.
func (p *Provider) auditBackup(ctx context.Context) Check {
	store, err := p.Snapshots()
	if err != nil {
		return fail(CheckEtcdBackup, "%v", err)
	}
	snap, err := store.Latest(ctx)
	if errors.Is(err, ErrNoSnapshot) {
		return fail(CheckEtcdBackup, "%v", err)
	}
	if err != nil {
		return fail(CheckEtcdBackup, "could not list the snapshots: %v", p.classify(err))
	}
	uri := snap.URI(store.Bucket)
	age := p.o.Clock.Now().Sub(snap.LastModified)
	if age > p.o.BackupInterval {
		return fail(CheckEtcdBackup, "the newest snapshot, %s, is %s old: older than the backup interval %s", uri, age.Round(time.Second), p.o.BackupInterval)
	}
	dir, err := os.MkdirTemp("", "kdrill-audit-")
	if err != nil {
		return fail(CheckEtcdBackup, "could not make a scratch folder: %v", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "snapshot.db")
	if _, err := store.Download(ctx, snap.Key, path); err != nil {
		return fail(CheckEtcdBackup, "the newest snapshot, %s, does not check out: %v", uri, err)
	}
	info, err := etcdsnap.Restore(ctx, path, etcdsnap.RestoreOptions{DataDir: filepath.Join(dir, "restored")})
	if err != nil {
		return fail(CheckEtcdBackup, "the newest snapshot, %s, does not restore: %v", uri, err)
	}
	if info.TotalKeys == 0 {
		return fail(CheckEtcdBackup, "the newest snapshot, %s, restores to an empty store (revision %d, no keys)", uri, info.Revision)
	}
	return pass(CheckEtcdBackup, "the newest snapshot, %s, is %s old (interval %s) and restores: revision %d, %d keys",
		uri, age.Round(time.Second), p.o.BackupInterval, info.Revision, info.TotalKeys)
}

// auditZone: the seed's option 2 (control plane in a zone with workers) or
// option 1 (a plan to re-provision it where the workers are).
func (p *Provider) auditZone(ctx context.Context, cp instance, workers []instance) Check {
	if len(workers) == 0 {
		return fail(CheckZone, "no worker is tagged %s: nothing to compare the control plane's zone with", p.o.selector())
	}
	zones := map[string][]string{}
	for _, w := range workers {
		zones[w.Zone] = append(zones[w.Zone], w.Node)
	}
	if same := zones[cp.Zone]; len(same) > 0 {
		return pass(CheckZone, "option 2: the control plane shares zone %s with workers %s", cp.Zone, strings.Join(same, ", "))
	}
	var wz []string
	for z := range zones {
		wz = append(wz, z)
	}
	sort.Strings(wz)
	pl, err := p.PlanReprovision(ctx)
	if err != nil {
		return fail(CheckZone, "the control plane is in %s and the workers in %s, and there is no re-provisioning plan: %v",
			cp.Zone, strings.Join(wz, ", "), err)
	}
	return pass(CheckZone, "option 1: the control plane is in %s and the workers in %s; plan: %s", cp.Zone, strings.Join(wz, ", "), pl)
}
