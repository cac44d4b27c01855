package awslocal

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/internal/leaktest"
)

// statusAlarm is the seed's mitigation: reboot the instance when its
// status check fails for 2 datapoints of 60 s.
func statusAlarm(name, instance string) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(name),
		AlarmDescription:   aws.String("reboot on failed status check"),
		Namespace:          aws.String("AWS/EC2"),
		MetricName:         aws.String("StatusCheckFailed_Instance"),
		Dimensions:         []types.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(instance)}},
		Statistic:          types.StatisticMaximum,
		Period:             aws.Int32(60),
		EvaluationPeriods:  aws.Int32(2),
		DatapointsToAlarm:  aws.Int32(2),
		Threshold:          aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		AlarmActions:       []string{"arn:aws:automate:" + testRegion + ":ec2:reboot"},
		Tags:               []types.Tag{{Key: aws.String("kdrill"), Value: aws.String("test")}},
	}
}

func (f *fixture) alarm(t *testing.T, name string) types.MetricAlarm {
	t.Helper()
	out, err := f.c.cw.DescribeAlarms(testContext(t), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("%d alarms named %s", len(out.MetricAlarms), name)
	}
	return out.MetricAlarms[0]
}

func TestAlarmsRoundTrip(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	for _, name := range []string{"kdrill-cp-status", "kdrill-other", "unrelated"} {
		if _, err := f.c.cw.PutMetricAlarm(ctx, statusAlarm(name, f.cp)); err != nil {
			t.Fatal(err)
		}
	}
	a := f.alarm(t, "kdrill-cp-status")
	if aws.ToString(a.MetricName) != "StatusCheckFailed_Instance" || aws.ToString(a.Namespace) != "AWS/EC2" ||
		a.Statistic != types.StatisticMaximum || aws.ToInt32(a.Period) != 60 || aws.ToInt32(a.EvaluationPeriods) != 2 ||
		aws.ToInt32(a.DatapointsToAlarm) != 2 || aws.ToFloat64(a.Threshold) != 1 ||
		a.ComparisonOperator != types.ComparisonOperatorGreaterThanOrEqualToThreshold ||
		!slices.Equal(a.AlarmActions, []string{"arn:aws:automate:us-east-1:ec2:reboot"}) ||
		aws.ToString(a.Dimensions[0].Value) != f.cp || !aws.ToBool(a.ActionsEnabled) ||
		aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:000000000000:alarm:kdrill-cp-status" {
		t.Errorf("alarm did not round-trip: %+v", a)
	}
	if a.StateValue != types.StateValueInsufficientData || aws.ToString(a.StateReason) == "" || a.StateUpdatedTimestamp == nil ||
		time.Since(*a.StateUpdatedTimestamp) > time.Minute {
		t.Errorf("new alarm state %s %q %v", a.StateValue, aws.ToString(a.StateReason), a.StateUpdatedTimestamp)
	}

	byPrefix, err := f.c.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("kdrill-")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range byPrefix.MetricAlarms {
		names = append(names, aws.ToString(a.AlarmName))
	}
	if !slices.Equal(names, []string{"kdrill-cp-status", "kdrill-other"}) {
		t.Errorf("by prefix: %v", names)
	}

	if _, err := f.c.cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"kdrill-other", "no-such-alarm"}}); err == nil {
		t.Error("deleting a missing alarm succeeded")
	} else {
		var nf *types.ResourceNotFound
		if !errors.As(err, &nf) {
			t.Errorf("deleting a missing alarm: %T %v, want *types.ResourceNotFound", err, err)
		}
	}
	if _, err := f.c.cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"kdrill-other", "unrelated"}}); err != nil {
		t.Fatal(err)
	}
	left, err := f.c.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.MetricAlarms) != 1 {
		t.Errorf("%d alarms left, want 1", len(left.MetricAlarms))
	}
}

func TestPutMetricAlarmValidation(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name   string
		change func(*cloudwatch.PutMetricAlarmInput)
		code   string
	}{
		{"bad period", func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(45) }, "InvalidParameterValue"},
		{"datapoints over periods", func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(3) }, "InvalidParameterValue"},
		{"no threshold", func(in *cloudwatch.PutMetricAlarmInput) { in.Threshold = nil }, "MissingParameter"},
		{"two statistics", func(in *cloudwatch.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") }, "InvalidParameterCombination"},
		{"action in another region", func(in *cloudwatch.PutMetricAlarmInput) {
			in.AlarmActions = []string{"arn:aws:automate:eu-west-1:ec2:reboot"}
		}, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := statusAlarm("bad", f.cp)
			tt.change(in)
			_, err := f.c.cw.PutMetricAlarm(testContext(t), in)
			if got := apiCode(err); got != tt.code {
				t.Errorf("error %v (code %q), want %s", err, got, tt.code)
			}
		})
	}
}

// TestAlarmEvaluation drives the alarm with a fake clock: each step is one
// 60 s period in which the instance's status check fails or passes.
func TestAlarmEvaluation(t *testing.T) {
	tests := []struct {
		name       string
		failed     []bool // per period, oldest first
		want       types.StateValue
		changedAt  int // the period (from 1) that made the last transition
		wantReboot bool
	}{
		{"fails 2 of 2 periods", []bool{true, true}, types.StateValueAlarm, 2, true},
		{"fails 1 of 2 periods", []bool{true, false}, types.StateValueOk, 1, false},
		{"fails only the latest period", []bool{false, true}, types.StateValueOk, 1, false},
		{"healthy", []bool{false, false}, types.StateValueOk, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
			var changed time.Time
			for i, failed := range tt.failed {
				if i+1 == tt.changedAt {
					changed = fake.Now().Add(60 * time.Second).Truncate(time.Millisecond)
				}
				if err := f.backend.Hang(f.cp, failed); err != nil {
					t.Fatal(err)
				}
				fake.Advance(60 * time.Second)
				select {
				case <-evaluated:
				case <-ctx.Done():
					t.Fatal("no evaluation")
				}
			}
			a := f.alarm(t, "cp-status")
			if a.StateValue != tt.want {
				t.Errorf("state %s (%s), want %s", a.StateValue, aws.ToString(a.StateReason), tt.want)
			}
			// The state's time is its last transition's, not the last
			// evaluation's: an alarm that stays OK keeps the time it
			// became OK.
			if !a.StateUpdatedTimestamp.Equal(changed) || !a.StateTransitionedTimestamp.Equal(changed) {
				t.Errorf("state updated at %v, transitioned at %v, want both at the transition %v", a.StateUpdatedTimestamp, a.StateTransitionedTimestamp, changed)
			}
			if tt.want == types.StateValueAlarm && !strings.Contains(aws.ToString(a.StateReason), "2 out of the last 2 datapoints") {
				t.Errorf("reason %q", aws.ToString(a.StateReason))
			}
			if aws.ToString(a.StateReasonData) == "" {
				t.Error("no StateReasonData")
			}
			rebooted := func() bool {
				return slices.ContainsFunc(f.backend.Events(), func(e Event) bool { return e.Op == "reboot" && e.ID == f.cp })
			}
			if tt.wantReboot {
				eventually(t, 5*time.Second, "the reboot action", rebooted)
			} else if time.Sleep(50 * time.Millisecond); rebooted() {
				t.Error("the instance was rebooted")
			}
		})
	}
}

// TestAlarmTimeScale runs the alarm on the real clock, sped up: 60 s
// periods last 50 ms.
func TestAlarmTimeScale(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TimeScale = 1200 })
	ctx := testContext(t)
	if _, err := f.c.cw.PutMetricAlarm(ctx, statusAlarm("cp-status", f.cp)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "OK while healthy", func() bool { return f.alarm(t, "cp-status").StateValue == types.StateValueOk })
	if err := f.backend.Crash(f.cp); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the reboot action", func() bool {
		return slices.ContainsFunc(f.backend.Events(), func(e Event) bool { return e.Op == "reboot" && e.ID == f.cp })
	})
	eventually(t, 5*time.Second, "OK after the reboot", func() bool { return f.alarm(t, "cp-status").StateValue == types.StateValueOk })
}

// TestCloseEndsBackgroundWork leaves alarms, a command and a state change
// running and checks that Close ends every goroutine they started.
func TestCloseEndsBackgroundWork(t *testing.T) {
	leaktest.Check(t)
	f := newFixture(t, func(o *Options) { o.TimeScale = 600 })
	ctx := testContext(t)
	if _, err := f.c.cw.PutMetricAlarm(ctx, statusAlarm("a", f.cp)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ssm.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{f.cp},
		Parameters: map[string][]string{"commands": {"sleep 0.3"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{f.workers[0]}}); err != nil {
		t.Fatal(err)
	}
}

func TestAlarmActions(t *testing.T) {
	tests := []struct {
		action string
		want   []Event // ops and forces, in order
	}{
		{"reboot", []Event{{Op: "reboot"}}},
		{"recover", []Event{{Op: "stop", Force: true}, {Op: "start"}}},
		{"stop", []Event{{Op: "stop"}}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			fake := clock.NewFake(time.Now())
			f := newFixture(t, func(o *Options) { o.Clock = fake })
			evaluated := make(chan string, 10)
			f.srv.evaluated = func(name string) { evaluated <- name }
			ctx := testContext(t)
			in := statusAlarm("cp-status", f.cp)
			in.AlarmActions = []string{"arn:aws:automate:" + testRegion + ":ec2:" + tt.action}
			if _, err := f.c.cw.PutMetricAlarm(ctx, in); err != nil {
				t.Fatal(err)
			}
			if !fake.WaitTickers(ctx.Done(), 1) {
				t.Fatal("no ticker")
			}
			if err := f.backend.Crash(f.cp); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				fake.Advance(60 * time.Second)
				<-evaluated
			}
			ops := func() []Event {
				var out []Event
				for _, e := range f.backend.Events() {
					if e.ID == f.cp {
						out = append(out, Event{Op: e.Op, Force: e.Force})
					}
				}
				return out
			}
			eventually(t, 5*time.Second, tt.action, func() bool { return slices.Equal(ops(), tt.want) })
		})
	}
}
