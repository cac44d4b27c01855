package aws

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/kdrill/kdrill/harness/clock"
)

// auditWorld is what the fake AWS holds for an audit; each test changes
// one thing from the healthy defaults.
type auditWorld struct {
	alarms      []cbor.Map // on the metric
	named       []cbor.Map // by kdrill's alarm name
	mount       string     // what the node prints for volumeScript
	volumes     string     // DescribeVolumes' <volumeSet> items
	snapshotAge time.Duration
	snapshot    []byte
	noSnapshot  bool
	instances   []fixtureInstance
	templates   string // DescribeLaunchTemplates' items
}

var auditNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func healthyWorld(t *testing.T) *auditWorld {
	cp := cpFixture
	cp.Tags = map[string]string{"aws:ec2launchtemplate:id": "lt-0cp", "aws:ec2launchtemplate:version": "3"}
	return &auditWorld{
		alarms:      []cbor.Map{seedAlarm("cp-status", "i-0cp")},
		mount:       "datadir=/var/lib/etcd\nsource=/dev/nvme1n1\ndisk=nvme1n1\nserial=vol0abc123\n",
		volumes:     volumeXML("vol-0root", "/dev/xvda", true) + volumeXML("vol0abc123", "/dev/sdf", false),
		snapshotAge: 20 * time.Minute,
		snapshot:    snapshotBytes(t, 5),
		instances:   []fixtureInstance{cp, w1Fixture, w2Fixture},
		templates:   "<item><launchTemplateId>lt-0cp</launchTemplateId><launchTemplateName>cp</launchTemplateName></item>",
	}
}

func volumeXML(id, device string, deleteOnTermination bool) string {
	if !strings.HasPrefix(id, "vol-") {
		id = "vol-" + strings.TrimPrefix(id, "vol")
	}
	return "<item><volumeId>" + id + "</volumeId><size>20</size><availabilityZone>us-east-1a</availabilityZone><status>in-use</status><volumeType>gp3</volumeType>" +
		"<attachmentSet><item><volumeId>" + id + "</volumeId><instanceId>i-0cp</instanceId><device>" + device + "</device><status>attached</status>" +
		"<deleteOnTermination>" + map[bool]string{true: "true", false: "false"}[deleteOnTermination] + "</deleteOnTermination></item></attachmentSet></item>"
}

// runAudit serves w and audits it.
func runAudit(t *testing.T, w *auditWorld) (map[string]Check, *fakeAWS) {
	t.Helper()
	f := newFakeAWS(t)
	f.setInstances(w.instances...)
	o := testOptions(f)
	o.BackupBucket, o.BackupPrefix, o.BackupInterval = "drill-backups", "etcd/", time.Hour
	o.Clock = clock.NewFake(auditNow)
	p := openFake(t, f, o)

	list := func(ms []cbor.Map) cbor.List {
		l := cbor.List{}
		for _, m := range ms {
			l = append(l, m)
		}
		return l
	}
	f.on("cloudwatch:DescribeAlarmsForMetric", func(call) reply { return cwOK(cbor.Map{"MetricAlarms": list(w.alarms)}) })
	f.on("cloudwatch:DescribeAlarms", func(call) reply {
		return cwOK(cbor.Map{"MetricAlarms": list(w.named), "CompositeAlarms": cbor.List{}})
	})
	ssmScript(f, invocation("Success", 0, w.mount, ""))
	f.on("ec2:DescribeVolumes", func(call) reply { return ec2OK("DescribeVolumes", "<volumeSet>"+w.volumes+"</volumeSet>") })
	b := serveBucket(f, "drill-backups")
	if !w.noSnapshot {
		b.put("etcd/backup.db", w.snapshot, auditNow.Add(-w.snapshotAge))
	}
	f.on("ec2:DescribeLaunchTemplates", func(call) reply {
		return ec2OK("DescribeLaunchTemplates", "<launchTemplates>"+w.templates+"</launchTemplates>")
	})
	f.on("ec2:DescribeImages", func(call) reply { return ec2OK("DescribeImages", "<imagesSet></imagesSet>") })

	checks := p.Audit(testContext(t))
	byName := map[string]Check{}
	var names []string
	for _, c := range checks {
		byName[c.Name] = c
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "status-check-alarm,etcd-on-persistent-volume,etcd-backup-restorable,control-plane-zone" {
		t.Errorf("checks = %v", names)
	}
	return byName, f
}

func TestAuditHealthy(t *testing.T) {
	checks, f := runAudit(t, healthyWorld(t))
	want := map[string]string{
		CheckStatusAlarm: "alarm cp-status reboots i-0cp when StatusCheckFailed_Instance >= 1 for 2 of 2 periods of 60 s",
		CheckEtcdVolume:  "etcd's data directory /var/lib/etcd is on EBS volume vol-0abc123 (/dev/nvme1n1), kept when i-0cp terminates",
		CheckEtcdBackup:  "the newest snapshot, s3://drill-backups/etcd/backup.db, is 20m0s old (interval 1h0m0s) and restores: revision 6, 5 keys",
		CheckZone:        "option 1: the control plane is in us-east-1a and the workers in us-east-1b; plan: re-provision i-0cp from launch template lt-0cp version 3 into subnet subnet-b (us-east-1b)",
	}
	for name, reason := range want {
		if c := checks[name]; !c.Pass || c.Reason != reason {
			t.Errorf("%s: pass=%v %q\nwant pass with %q", name, c.Pass, c.Reason, reason)
		}
	}

	q := f.callsTo("cloudwatch:DescribeAlarmsForMetric")[0].CBOR
	if q["Namespace"] != cbor.String("AWS/EC2") || q["MetricName"] != cbor.String("StatusCheckFailed_Instance") {
		t.Errorf("DescribeAlarmsForMetric input = %#v", q)
	}
	named := f.callsTo("cloudwatch:DescribeAlarms")[0].CBOR
	if names, _ := named["AlarmNames"].(cbor.List); len(names) != 1 || names[0] != cbor.String("kdrill-i-0cp-status-reboot") {
		t.Errorf("DescribeAlarms input = %#v", named)
	}
	vols := f.callsTo("ec2:DescribeVolumes")[0].Form
	if vols.Get("Filter.1.Name") != "attachment.instance-id" || vols.Get("Filter.1.Value.1") != "i-0cp" {
		t.Errorf("DescribeVolumes form = %v", vols)
	}
	if lt := f.callsTo("ec2:DescribeLaunchTemplates")[0].Form; lt.Get("LaunchTemplateId.1") != "lt-0cp" {
		t.Errorf("DescribeLaunchTemplates form = %v", lt)
	}
	// Nothing was changed.
	for _, c := range f.calls {
		if !readOnly(c.Op) && c.Op != "SendCommand" {
			t.Errorf("Audit made a mutating call: %s %s", c.Service, c.Op)
		}
	}
}

func TestAuditFailures(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(w *auditWorld)
		check string
		want  string
	}{
		{
			name:  "alarm missing",
			edit:  func(w *auditWorld) { w.alarms = nil },
			check: CheckStatusAlarm,
			want:  "no CloudWatch alarm on AWS/EC2 StatusCheckFailed_Instance of i-0cp (and none named kdrill-i-0cp-status-reboot)",
		},
		{
			name:  "wrong threshold",
			edit:  func(w *auditWorld) { w.alarms[0]["Threshold"] = cbor.Float64(2) },
			check: CheckStatusAlarm,
			want:  "alarm cp-status: threshold is 2, want 1",
		},
		{
			name: "several fields wrong",
			edit: func(w *auditWorld) {
				w.alarms[0]["Period"] = cbor.Uint(300)
				w.alarms[0]["DatapointsToAlarm"] = cbor.Uint(1)
				w.alarms[0]["AlarmActions"] = cbor.List{}
			},
			check: CheckStatusAlarm,
			want:  "alarm cp-status: period is 300, want 60; datapoints to alarm is 1, want 2; alarm actions are [], want arn:aws:automate:us-east-1:ec2:reboot",
		},
		{
			name: "kdrill's alarm on the wrong namespace",
			edit: func(w *auditWorld) {
				w.alarms = nil
				a := seedAlarm("kdrill-i-0cp-status-reboot", "i-0cp")
				a["Namespace"] = cbor.String("Custom/EC2")
				w.named = []cbor.Map{a}
			},
			check: CheckStatusAlarm,
			want:  "alarm kdrill-i-0cp-status-reboot: namespace is Custom/EC2, want AWS/EC2",
		},
		{
			name:  "etcd on a volume deleted with the instance",
			edit:  func(w *auditWorld) { w.volumes = volumeXML("vol0abc123", "/dev/sdf", true) },
			check: CheckEtcdVolume,
			want:  "is on EBS volume vol-0abc123 (/dev/nvme1n1), which is deleted when i-0cp terminates (DeleteOnTermination=true)",
		},
		{
			name:  "etcd on the root volume of a Xen instance",
			edit:  func(w *auditWorld) { w.mount = "datadir=/var/lib/etcd\nsource=/dev/xvda1\ndisk=xvda\nserial=\n" },
			check: CheckEtcdVolume,
			want:  "is on EBS volume vol-0root (/dev/xvda1), which is deleted when i-0cp terminates",
		},
		{
			name: "etcd on instance storage",
			edit: func(w *auditWorld) {
				w.mount = "datadir=/var/lib/etcd\nsource=/dev/nvme2n1\ndisk=nvme2n1\nserial=AWS12345\n"
			},
			check: CheckEtcdVolume,
			want:  "is on /dev/nvme2n1, which is none of the EBS volumes attached to i-0cp [vol-0root /dev/xvda, vol-0abc123 /dev/sdf]",
		},
		{
			name:  "etcd on tmpfs",
			edit:  func(w *auditWorld) { w.mount = "datadir=/var/lib/etcd\nsource=tmpfs\ndisk=tmpfs\n" },
			check: CheckEtcdVolume,
			want:  `etcd's data directory /var/lib/etcd is on "tmpfs", not a block device`,
		},
		{
			name:  "stale backup",
			edit:  func(w *auditWorld) { w.snapshotAge = 3 * time.Hour },
			check: CheckEtcdBackup,
			want:  "the newest snapshot, s3://drill-backups/etcd/backup.db, is 3h0m0s old: older than the backup interval 1h0m0s",
		},
		{
			name:  "no backup",
			edit:  func(w *auditWorld) { w.noSnapshot = true },
			check: CheckEtcdBackup,
			want:  "no etcd snapshot in S3 under s3://drill-backups/etcd/",
		},
		{
			name:  "corrupt backup",
			edit:  func(w *auditWorld) { w.snapshot = w.snapshot[:len(w.snapshot)-7] },
			check: CheckEtcdBackup,
			want:  "does not check out",
		},
		{
			name:  "empty backup",
			edit:  func(w *auditWorld) { w.snapshot = snapshotBytes(t, 0) },
			check: CheckEtcdBackup,
			want:  "restores to an empty store",
		},
		{
			name: "other zone, launch template gone, AMI gone",
			edit: func(w *auditWorld) {
				w.instances[0].Tags = nil
				w.templates = ""
			},
			check: CheckZone,
			want:  "the control plane is in us-east-1a and the workers in us-east-1b, and there is no re-provisioning plan: the control plane's AMI ami-0cp: it no longer exists",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := healthyWorld(t)
			tt.edit(w)
			checks, _ := runAudit(t, w)
			c := checks[tt.check]
			if c.Pass || !strings.Contains(c.Reason, tt.want) {
				t.Errorf("%s: pass=%v %q\nwant a failure containing %q", tt.check, c.Pass, c.Reason, tt.want)
			}
			for name, other := range checks {
				if name != tt.check && !other.Pass {
					t.Errorf("%s failed too: %s", name, other.Reason)
				}
			}
		})
	}
}

func TestAuditZoneShared(t *testing.T) {
	w := healthyWorld(t)
	w.instances[2].Zone = "us-east-1a" // worker-2 joins the control plane's zone
	checks, f := runAudit(t, w)
	c := checks[CheckZone]
	if !c.Pass || c.Reason != "option 2: the control plane shares zone us-east-1a with workers worker-2" {
		t.Errorf("zone check: %+v", c)
	}
	if n := len(f.callsTo("ec2:DescribeLaunchTemplates")); n != 0 {
		t.Errorf("a shared zone needs no re-provisioning plan, but %d launch template lookups were made", n)
	}
}

func TestVolumeIDAndDisk(t *testing.T) {
	for serial, want := range map[string]string{"vol0abc123": "vol-0abc123", "vol-0abc": "vol-0abc", "AWS1234": "", "": ""} {
		if got := volumeIDFromSerial(serial); got != want {
			t.Errorf("volumeIDFromSerial(%q) = %q, want %q", serial, got, want)
		}
	}
	tests := []struct {
		device, disk string
		want         bool
	}{
		{"/dev/sdf", "xvdf", true},
		{"/dev/xvdf", "xvdf", true},
		{"/dev/sda1", "xvda", true},
		{"/dev/sdf", "xvdg", false},
		{"/dev/sdf", "nvme1n1", false}, // NVMe disks are matched by serial
		{"/dev/sdf", "", false},
	}
	for _, tt := range tests {
		if got := sameDisk(tt.device, tt.disk); got != tt.want {
			t.Errorf("sameDisk(%s, %s) = %v", tt.device, tt.disk, got)
		}
	}
}

func TestVolumeScriptParses(t *testing.T) {
	if out, err := execSh("-n", "-c", volumeScript); err != nil {
		t.Errorf("volumeScript does not parse: %v\n%s", err, out)
	}
}
