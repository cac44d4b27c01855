package aws

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kdrill/kdrill/faults"
)

func TestDryRun(t *testing.T) {
	f := newFakeAWS(t)
	for _, op := range []string{"ec2:StopInstances", "ec2:StartInstances", "ec2:CreateNetworkAclEntry", "ec2:RunInstances",
		"cloudwatch:PutMetricAlarm", "ssm:SendCommand", "s3:PutObject"} {
		f.on(op, func(c call) reply {
			t.Errorf("a dry run sent %s %s to AWS", c.Service, c.Op)
			return errorReply(c.Service, "DryRunViolated", "no")
		})
	}
	var out bytes.Buffer
	o := testOptions(f)
	o.DryRun, o.DryRunOut, o.BackupBucket = true, &out, "drill-backups"
	p := openFake(t, f, o) // DescribeInstances is read-only: it goes out
	ctx := testContext(t)

	check := func(what string, err error, wantLine string) {
		t.Helper()
		if !errors.Is(err, ErrDryRun) {
			t.Errorf("%s: %v, want ErrDryRun", what, err)
		}
		if !strings.Contains(out.String(), wantLine+"\n") {
			t.Errorf("%s: dry-run output lacks\n%s\nhas\n%s", what, wantLine, out.String())
		}
	}

	check("StopNode", p.StopNode(ctx, "worker-2", true), `aws ec2 StopInstances {"Force":true,"InstanceIds":["i-0w2"]}`)

	_, err := p.EnsureStatusCheckAlarm(ctx, "i-0cp")
	check("EnsureStatusCheckAlarm", err, `aws cloudwatch PutMetricAlarm {"ActionsEnabled":true,"AlarmActions":["arn:aws:automate:us-east-1:ec2:reboot"],`+
		`"AlarmDescription":"kdrill: reboot i-0cp when its instance status check fails for 2 minutes","AlarmName":"kdrill-i-0cp-status-reboot",`+
		`"ComparisonOperator":"GreaterThanOrEqualToThreshold","DatapointsToAlarm":2,"Dimensions":[{"Name":"InstanceId","Value":"i-0cp"}],`+
		`"EvaluationPeriods":2,"MetricName":"StatusCheckFailed_Instance","Namespace":"AWS/EC2","Period":60,"Statistic":"Maximum","Threshold":1}`)

	_, err = p.Exec(context.Background(), "worker-2", "systemctl", "stop", "kubelet")
	check("Exec", err, `aws ssm SendCommand {"Comment":"kdrill exec","DocumentName":"AWS-RunShellScript","InstanceIds":["i-0w2"],`+
		`"Parameters":{"commands":["systemctl stop kubelet"]},"TimeoutSeconds":60}`)

	err = NACLPartition{}.Apply(ctx, p, faults.Params{"entries": "acl-cp ingress 2 10.0.2.0/24"})
	check("NACLPartition.Apply", err, `aws ec2 CreateNetworkAclEntry {"CidrBlock":"10.0.2.0/24","Egress":false,"NetworkAclId":"acl-cp","Protocol":"-1","RuleAction":"deny","RuleNumber":2}`)

	// Read-only S3 calls go out; the upload does not.
	serveBucket(f, "drill-backups")
	f.on("s3:PutObject", func(c call) reply {
		t.Errorf("a dry run sent %s %s to AWS", c.Service, c.Op)
		return reply{Status: 400}
	})
	store, err := p.Snapshots()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.List(ctx); err != nil {
		t.Errorf("List in a dry run: %v", err)
	}
	path := filepath.Join(t.TempDir(), "snap.db")
	os.WriteFile(path, snapshotBytes(t, 1), 0o600)
	_, err = store.Upload(ctx, path)
	if !errors.Is(err, ErrDryRun) || !strings.Contains(out.String(), `aws s3 PutObject {"Bucket":"drill-backups","ContentLength":`) {
		t.Errorf("Upload: %v; output:\n%s", err, out.String())
	}

	// The backup's script carries a presigned upload URL; the dry run
	// prints it without what would let a reader use it.
	before := out.Len()
	_, err = p.BackupEtcd(ctx, "worker-2")
	if !errors.Is(err, ErrDryRun) {
		t.Errorf("BackupEtcd: %v, want ErrDryRun", err)
	}
	line := out.String()[before:]
	if !strings.Contains(line, "X-Amz-Signature=REDACTED") || regexp.MustCompile(`X-Amz-Signature=[0-9a-f]{64}`).MatchString(line) {
		t.Errorf("BackupEtcd's dry-run line keeps the presigned URL's signature:\n%s", line)
	}
	if !strings.Contains(line, "X-Amz-Credential=") {
		t.Errorf("BackupEtcd's dry-run line lacks the presigned URL:\n%s", line)
	}

	if n := len(f.callsTo("s3:ListObjectsV2")); n != 1 {
		t.Errorf("%d ListObjectsV2 calls reached the server, want 1", n)
	}
	for _, c := range f.calls {
		if !readOnly(c.Op) {
			t.Errorf("mutating call reached the server: %s %s", c.Service, c.Op)
		}
	}
	if lines := strings.Count(out.String(), "\n"); lines != 6 {
		t.Errorf("%d dry-run lines, want 6:\n%s", lines, out.String())
	}
}

func TestReadOnly(t *testing.T) {
	for op, want := range map[string]bool{
		"DescribeInstances": true, "ListObjectsV2": true, "GetCommandInvocation": true, "HeadObject": true, "GetObject": true,
		"StopInstances": false, "PutMetricAlarm": false, "SendCommand": false, "CreateNetworkAclEntry": false, "DeleteNetworkAclEntry": false,
		"RunInstances": false, "CreateTags": false, "CancelCommand": false, "PutObject": false,
	} {
		if readOnly(op) != want {
			t.Errorf("readOnly(%s) = %v", op, !want)
		}
	}
}
