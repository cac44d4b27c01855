package awslocal

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestDockerInterruptAlarmReboots crashes a container with
// SendDiagnosticInterrupt: the container dies, EC2 keeps the instance
// running with a failed check, and the seed's alarm reboots it.
func TestDockerInterruptAlarmReboots(t *testing.T) {
	l, _, c := dockerFixture(t, func(_ *dockerLab, o *Options, _ *DockerOptions) { o.TimeScale = 120 }) // 60 s periods last 0.5 s
	ctx := testContext(t)
	id := l.id("cp")
	if _, err := c.cw.PutMetricAlarm(ctx, statusAlarm("cp-status", id)); err != nil {
		t.Fatal(err)
	}
	alarmState := func() cwtypes.StateValue {
		out, err := c.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"cp-status"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.MetricAlarms[0].StateValue
	}
	eventually(t, 20*time.Second, "OK while healthy", func() bool { return alarmState() == cwtypes.StateValueOk })
	before := l.inspect("cp").State.StartedAt
	crashed := time.Now()
	if _, err := c.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	// Killed at once, as a panicking kernel takes everything with it; the
	// alarm may reboot it within a second, so look at what Docker recorded.
	if st := l.inspect("cp").State; st.Running && !st.StartedAt.After(before) {
		t.Errorf("the container still runs after the interrupt: %+v", st)
	}
	if st := dockerState(t, c, id); st != types.InstanceStateNameRunning {
		t.Errorf("after the interrupt EC2 says %s, want running", st)
	}
	eventually(t, 30*time.Second, "the alarm to reboot the container", func() bool {
		st := l.inspect("cp").State
		return st.Running && st.StartedAt.After(before)
	})
	eventually(t, 30*time.Second, "OK after the reboot", func() bool { return alarmState() == cwtypes.StateValueOk })
	eventually(t, 20*time.Second, "the check to pass", func() bool { return dockerStatus(t, c, id) == "ok" })
	out, err := c.cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("cp-status"),
		HistoryItemType: cwtypes.HistoryItemTypeStateUpdate, StartDate: aws.Time(crashed), ScanBy: cwtypes.ScanByTimestampAscending})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, h := range out.AlarmHistoryItems {
		summaries = append(summaries, aws.ToString(h.HistorySummary))
	}
	if len(summaries) < 2 || summaries[0] != "Alarm updated from OK to ALARM" || summaries[len(summaries)-1] != "Alarm updated from ALARM to OK" {
		t.Errorf("state history since the crash: %s", strings.Join(summaries, "; "))
	}
}
