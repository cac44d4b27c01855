package awslocal

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kdrill/kdrill/harness/clock"
)

// status is the instance status check of one instance.
func (f *fixture) status(t *testing.T, id string) types.SummaryStatus {
	t.Helper()
	out, err := f.c.ec2.DescribeInstanceStatus(testContext(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.InstanceStatuses) != 1 {
		t.Fatalf("%d statuses for %s", len(out.InstanceStatuses), id)
	}
	return out.InstanceStatuses[0].InstanceStatus.Status
}

// ops lists what the backend was asked to do to one machine.
func (f *fixture) ops(id string) []string {
	var out []string
	for _, e := range f.backend.Events() {
		if e.ID == id && e.Op != "exec" {
			out = append(out, e.Op)
		}
	}
	return out
}

func TestSendDiagnosticInterrupt(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)

	// A dry run checks and does nothing.
	_, err := f.c.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: aws.String(f.cp), DryRun: aws.Bool(true)})
	if apiCode(err) != "DryRunOperation" {
		t.Errorf("dry run: %v", err)
	}
	if ops := f.ops(f.cp); len(ops) != 0 {
		t.Errorf("a dry run reached the backend: %v", ops)
	}

	if _, err := f.c.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: aws.String(f.cp)}); err != nil {
		t.Fatal(err)
	}
	// The guest crashed behind EC2's back: still running to EC2, with a
	// failed instance status check, at once.
	if st := f.state(t, f.cp); st != types.InstanceStateNameRunning {
		t.Errorf("after the interrupt the instance is %s, want running", st)
	}
	if s := f.status(t, f.cp); s != types.SummaryStatusImpaired {
		t.Errorf("after the interrupt the status check is %s, want impaired", s)
	}
	if ops := f.ops(f.cp); !slices.Equal(ops, []string{"interrupt"}) {
		t.Errorf("backend was asked %v, want only the interrupt (no stop)", ops)
	}
	// Nothing answers SSM on a crashed machine.
	if out := f.runCommand(t, f.cp, "true"); aws.ToString(out.StatusDetails) != "Undeliverable" {
		t.Errorf("SSM on a crashed instance: %s/%s", out.Status, aws.ToString(out.StatusDetails))
	}
	// A second interrupt finds nothing left to crash, and succeeds.
	if _, err := f.c.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: aws.String(f.cp)}); err != nil {
		t.Errorf("second interrupt: %v", err)
	}
	// RebootInstances brings it back.
	if _, err := f.c.ec2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{f.cp}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the check to pass after the reboot", func() bool { return f.status(t, f.cp) == types.SummaryStatusOk })
}

func TestSendDiagnosticInterruptRefused(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	if _, err := f.c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{f.workers[0]}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the worker to stop", func() bool { return f.state(t, f.workers[0]) == types.InstanceStateNameStopped })
	tests := []struct {
		name, id, code string
	}{
		{"stopped", f.workers[0], "IncorrectInstanceState"},
		{"unknown", "i-0123456789abcdef0", "InvalidInstanceID.NotFound"},
		{"malformed", "vm-1", "InvalidInstanceID.Malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: aws.String(tt.id)})
			if got := apiCode(err); got != tt.code {
				t.Errorf("error %v (code %q), want %s", err, got, tt.code)
			}
		})
	}

	// A backend that cannot crash its machines refuses, as EC2 does for
	// instance types without diagnostic interrupts.
	plain := newFixture(t, func(o *Options) { o.Backend = struct{ Backend }{o.Backend} })
	_, err := plain.c.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: aws.String(plain.cp)})
	if got := apiCode(err); got != "UnsupportedOperation" {
		t.Errorf("backend without Interrupter: %v (code %q)", err, got)
	}
}

// history returns the alarm's history items of one type, oldest first.
func (f *fixture) history(t *testing.T, in *cloudwatch.DescribeAlarmHistoryInput) []cwtypes.AlarmHistoryItem {
	t.Helper()
	out, err := f.c.cw.DescribeAlarmHistory(testContext(t), in)
	if err != nil {
		t.Fatal(err)
	}
	return out.AlarmHistoryItems
}

// TestInterruptAlarmReboots drives the seed's alarm with a fake clock
// through a guest crash: the instance stays running, its check fails for 2
// periods, the alarm goes to ALARM and reboots it, the check passes, the
// alarm goes back to OK. DescribeAlarms then shows only OK; the history
// keeps the ALARM transition and the action.
func TestInterruptAlarmReboots(t *testing.T) {
	fake := clock.NewFake(time.Now())
	f := newFixture(t, func(o *Options) { o.Clock = fake })
	evaluated := make(chan string, 10)
	f.srv.evaluated = func(name string) { evaluated <- name }
	ctx := testContext(t)
	if _, err := f.c.cw.PutMetricAlarm(ctx, statusAlarm("cp-status", f.cp)); err != nil {
		t.Fatal(err)
	}
	if !fake.WaitTickers(ctx.Done(), 1) {
		t.Fatal("the alarm never started its ticker")
	}
	period := func() time.Time {
		t.Helper()
		fake.Advance(60 * time.Second)
		select {
		case <-evaluated:
		case <-ctx.Done():
			t.Fatal("no evaluation")
		}
		return fake.Now().UTC().Truncate(time.Millisecond)
	}
	period() // healthy: INSUFFICIENT_DATA → OK
	fake.Advance(time.Second)
	crashedAt := fake.Now()
	if _, err := f.c.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: aws.String(f.cp)}); err != nil {
		t.Fatal(err)
	}
	period()
	if a := f.alarm(t, "cp-status"); a.StateValue != cwtypes.StateValueOk {
		t.Fatalf("after 1 failed period: %s", a.StateValue)
	}
	fired := period()
	a := f.alarm(t, "cp-status")
	if a.StateValue != cwtypes.StateValueAlarm || !a.StateUpdatedTimestamp.Equal(fired) ||
		!strings.Contains(aws.ToString(a.StateReason), "2 out of the last 2 datapoints") {
		t.Errorf("after 2 failed periods: %s at %v (%s)", a.StateValue, a.StateUpdatedTimestamp, aws.ToString(a.StateReason))
	}
	eventually(t, 5*time.Second, "the reboot action", func() bool { return slices.Contains(f.ops(f.cp), "reboot") })
	if st := f.state(t, f.cp); st != types.InstanceStateNameRunning {
		t.Errorf("rebooted instance is %s", st)
	}
	eventually(t, 5*time.Second, "the check to pass", func() bool { return f.status(t, f.cp) == types.SummaryStatusOk })
	recovered := period()
	a = f.alarm(t, "cp-status")
	if a.StateValue != cwtypes.StateValueOk || !a.StateUpdatedTimestamp.Equal(recovered) {
		t.Errorf("after the reboot: %s at %v, want OK at %v", a.StateValue, a.StateUpdatedTimestamp, recovered)
	}
	if ops := f.ops(f.cp); !slices.Equal(ops, []string{"interrupt", "reboot"}) {
		t.Errorf("backend ops %v, want interrupt then reboot", ops)
	}

	// The history since the crash: ALARM, then OK; the reboot in between.
	states := f.history(t, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("cp-status"),
		HistoryItemType: cwtypes.HistoryItemTypeStateUpdate, StartDate: aws.Time(crashedAt), ScanBy: cwtypes.ScanByTimestampAscending})
	var got []string
	for _, h := range states {
		var doc struct {
			OldState, NewState struct{ StateValue, StateReason string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(h.HistoryData)), &doc); err != nil {
			t.Fatalf("HistoryData %q: %v", aws.ToString(h.HistoryData), err)
		}
		if want := "Alarm updated from " + doc.OldState.StateValue + " to " + doc.NewState.StateValue; aws.ToString(h.HistorySummary) != want {
			t.Errorf("summary %q, want %q", aws.ToString(h.HistorySummary), want)
		}
		if h.AlarmType != cwtypes.AlarmTypeMetricAlarm || aws.ToString(h.AlarmName) != "cp-status" || doc.NewState.StateReason == "" {
			t.Errorf("item %+v", h)
		}
		got = append(got, doc.NewState.StateValue+"@"+h.Timestamp.UTC().Format(time.RFC3339Nano))
	}
	want := []string{"ALARM@" + fired.Format(time.RFC3339Nano), "OK@" + recovered.Format(time.RFC3339Nano)}
	if !slices.Equal(got, want) {
		t.Errorf("state history since the crash %v, want %v", got, want)
	}
	actions := f.history(t, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("cp-status"), HistoryItemType: cwtypes.HistoryItemTypeAction})
	if len(actions) != 1 || aws.ToString(actions[0].HistorySummary) != "Successfully executed action arn:aws:automate:us-east-1:ec2:reboot" {
		t.Errorf("action history %+v", actions)
	}
	// EndDate bounds it too: up to the firing, only ALARM.
	upTo := f.history(t, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("cp-status"),
		HistoryItemType: cwtypes.HistoryItemTypeStateUpdate, StartDate: aws.Time(crashedAt), EndDate: aws.Time(fired)})
	if len(upTo) != 1 || !strings.HasSuffix(aws.ToString(upTo[0].HistorySummary), "to ALARM") {
		t.Errorf("history from the crash to the firing: %+v", upTo)
	}
}

func TestDescribeAlarmHistory(t *testing.T) {
	fake := clock.NewFake(time.Now())
	f := newFixture(t, func(o *Options) { o.Clock = fake })
	ctx := testContext(t)
	for _, name := range []string{"a", "b"} {
		if _, err := f.c.cw.PutMetricAlarm(ctx, statusAlarm(name, f.cp)); err != nil {
			t.Fatal(err)
		}
		fake.Advance(time.Second)
	}
	if _, err := f.c.cw.PutMetricAlarm(ctx, statusAlarm("a", f.cp)); err != nil { // an update
		t.Fatal(err)
	}
	if _, err := f.c.cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	// Newest first by default; the history outlives the alarm.
	var summaries []string
	for _, h := range f.history(t, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("a")}) {
		if h.HistoryItemType != cwtypes.HistoryItemTypeConfigurationUpdate {
			t.Errorf("item type %s", h.HistoryItemType)
		}
		summaries = append(summaries, aws.ToString(h.HistorySummary))
	}
	if want := []string{`Alarm "a" deleted`, `Alarm "a" updated`, `Alarm "a" created`}; !slices.Equal(summaries, want) {
		t.Errorf("history of a: %q, want %q", summaries, want)
	}

	// Pages of 2 over all 4 items, oldest first, in order and without
	// repeats.
	var all []string
	in := &cloudwatch.DescribeAlarmHistoryInput{MaxRecords: aws.Int32(2), ScanBy: cwtypes.ScanByTimestampAscending}
	for pages := cloudwatch.NewDescribeAlarmHistoryPaginator(f.c.cw, in); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.AlarmHistoryItems) > 2 {
			t.Errorf("page of %d items", len(page.AlarmHistoryItems))
		}
		for _, h := range page.AlarmHistoryItems {
			all = append(all, aws.ToString(h.HistorySummary))
		}
	}
	if want := []string{`Alarm "a" created`, `Alarm "b" created`, `Alarm "a" updated`, `Alarm "a" deleted`}; !slices.Equal(all, want) {
		t.Errorf("paged history %q, want %q", all, want)
	}
	// Only metric alarms exist.
	if h := f.history(t, &cloudwatch.DescribeAlarmHistoryInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm}}); len(h) != 0 {
		t.Errorf("composite alarm history: %+v", h)
	}
	_, err := f.c.cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{NextToken: aws.String("bogus")})
	var bad *cwtypes.InvalidNextToken
	if !errors.As(err, &bad) {
		t.Errorf("bad token: %T %v, want *types.InvalidNextToken", err, err)
	}
	if _, err := f.c.cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{MaxRecords: aws.Int32(500)}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("MaxRecords 500: %v", err)
	}
}

func TestDescribeAlarmsForMetric(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	put := func(name, instance string, edit func(*cloudwatch.PutMetricAlarmInput)) {
		t.Helper()
		in := statusAlarm(name, instance)
		if edit != nil {
			edit(in)
		}
		if _, err := f.c.cw.PutMetricAlarm(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	put("cp-max", f.cp, nil)
	put("cp-avg", f.cp, func(in *cloudwatch.PutMetricAlarmInput) { in.Statistic = cwtypes.StatisticAverage })
	put("cp-system", f.cp, func(in *cloudwatch.PutMetricAlarmInput) { in.MetricName = aws.String("StatusCheckFailed_System") })
	put("worker", f.workers[0], nil)
	dims := func(id string) []cwtypes.Dimension {
		return []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(id)}}
	}
	tests := []struct {
		name string
		in   cloudwatch.DescribeAlarmsForMetricInput
		want []string
	}{
		{"the control plane's", cloudwatch.DescribeAlarmsForMetricInput{Dimensions: dims(f.cp)}, []string{"cp-avg", "cp-max"}},
		{"by statistic", cloudwatch.DescribeAlarmsForMetricInput{Dimensions: dims(f.cp), Statistic: cwtypes.StatisticMaximum}, []string{"cp-max"}},
		{"by period", cloudwatch.DescribeAlarmsForMetricInput{Dimensions: dims(f.cp), Period: aws.Int32(300)}, nil},
		{"a worker's", cloudwatch.DescribeAlarmsForMetricInput{Dimensions: dims(f.workers[0])}, []string{"worker"}},
		{"without the dimensions", cloudwatch.DescribeAlarmsForMetricInput{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Namespace, in.MetricName = aws.String("AWS/EC2"), aws.String("StatusCheckFailed_Instance")
			out, err := f.c.cw.DescribeAlarmsForMetric(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range out.MetricAlarms {
				got = append(got, aws.ToString(a.AlarmName))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("alarms %v, want %v", got, tt.want)
			}
		})
	}
}
