package aws

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
)

// Tag keys kdrill reads on instances.
const (
	// DefaultRoleTagKey is the tag whose value, control-plane or worker,
	// says what an instance does in the cluster.
	DefaultRoleTagKey = "kdrill/role"
	// NodeTagKey, when an instance has it, is the instance's Kubernetes node
	// name; without it the node name is the instance's private DNS name, as
	// the AWS cloud provider and kubeadm on EC2 name nodes.
	NodeTagKey = "kdrill/node"
	// RoleRetired marks a control plane Reprovision replaced; Nodes leaves
	// such instances out.
	RoleRetired = "retired"
	// launchTemplateTagKey and launchTemplateVersionTagKey are set by EC2
	// on instances launched from a launch template.
	launchTemplateTagKey        = "aws:ec2launchtemplate:id"
	launchTemplateVersionTagKey = "aws:ec2launchtemplate:version"
)

// DefaultBackupInterval is the etcd backup schedule Audit assumes when
// Options.BackupInterval is zero.
const DefaultBackupInterval = time.Hour

// Options say which AWS account, region and instances a Provider acts on.
type Options struct {
	// Region is the AWS region; empty means the SDK's (AWS_REGION, the
	// profile's region).
	Region string
	// Endpoint, when set, replaces every service's endpoint (a local
	// stand-in for AWS); S3 then uses path-style addressing.
	Endpoint string
	// Profile is the shared-config profile; empty means the default chain.
	Profile string
	// Tags select the cluster's instances: an instance must carry every one.
	// Required: kdrill never acts on all of an account's instances.
	Tags map[string]string
	// RoleTagKey is the tag holding each instance's role; DefaultRoleTagKey
	// when empty.
	RoleTagKey string
	// Kubeconfig is the cluster's admin kubeconfig file.
	Kubeconfig string
	// WorkloadURL is where the probed workload answers from this machine.
	WorkloadURL string
	// BackupBucket and BackupPrefix locate the etcd snapshots in S3 (see
	// SnapshotStore); BackupInterval is how often one is taken, the age
	// beyond which Audit calls the newest stale (DefaultBackupInterval when
	// zero).
	BackupBucket   string
	BackupPrefix   string
	BackupInterval time.Duration
	// DryRun keeps every mutating AWS call in the process: each is written
	// to DryRunOut as "aws <service> <Operation> <input JSON>" and fails
	// with ErrDryRun. Read-only calls (Describe*, List*, Get*, Head*) still
	// go out, so plans are made against the real account.
	DryRun    bool
	DryRunOut io.Writer
	// Clock tells the time for backup ages and snapshot names; the real
	// clock when nil.
	Clock clock.Clock
}

// UserError is a problem the user can fix: no tag selector, a bad region,
// missing credentials, instances that do not form one cluster. Its message
// says how. cmd maps it to exit code 2.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

func userErrorf(format string, args ...any) *UserError {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

// regionPattern is the shape of every AWS region name: a two-letter area,
// one or more words, a number (us-east-1, us-gov-west-1, ap-southeast-2).
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// validate checks what can be checked without AWS and fills the defaults.
func (o *Options) validate() error {
	if len(o.Tags) == 0 {
		return &UserError{Msg: "no --aws-tag selector: kdrill never acts on all instances"}
	}
	for k := range o.Tags {
		if strings.TrimSpace(k) == "" {
			return &UserError{Msg: "an --aws-tag selector has an empty key"}
		}
	}
	if o.RoleTagKey == "" {
		o.RoleTagKey = DefaultRoleTagKey
	}
	if o.BackupInterval <= 0 {
		o.BackupInterval = DefaultBackupInterval
	}
	if o.BackupPrefix != "" && !strings.HasSuffix(o.BackupPrefix, "/") {
		o.BackupPrefix += "/"
	}
	if o.DryRun && o.DryRunOut == nil {
		o.DryRunOut = io.Discard
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	return nil
}

// checkRegion fails unless region looks like an AWS region name.
func checkRegion(region string) error {
	if region == "" {
		return &UserError{Msg: "no AWS region: pass --aws-region, set AWS_REGION, or give the profile a region"}
	}
	if !regionPattern.MatchString(region) {
		return userErrorf("AWS region %q is not a region name such as us-east-1", region)
	}
	return nil
}

// selector prints the tag selector as the user wrote it, sorted.
func (o *Options) selector() string {
	keys := make([]string, 0, len(o.Tags))
	for k := range o.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + o.Tags[k]
	}
	return strings.Join(parts, ",")
}
