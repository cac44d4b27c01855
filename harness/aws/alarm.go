package aws

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// The seed's status-check alarm: StatusCheckFailed_Instance >= 1 for 2
// datapoints within 2 minutes, rebooting the instance when it fires.
const (
	alarmNamespace  = "AWS/EC2"
	alarmMetric     = "StatusCheckFailed_Instance"
	alarmDimension  = "InstanceId"
	alarmStatistic  = cwtypes.StatisticMaximum
	alarmPeriod     = 60
	alarmComparison = cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold
	alarmThreshold  = 1.0
	alarmEvaluation = 2
	alarmDatapoints = 2
)

// StatusCheckAlarmName is the name kdrill gives the status-check alarm of
// an instance.
func StatusCheckAlarmName(instanceID string) string {
	return "kdrill-" + instanceID + "-status-reboot"
}

// rebootAction is the ARN of the EC2 "reboot this instance" alarm action in
// region's partition.
func rebootAction(region string) string {
	partition := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return "arn:" + partition + ":automate:" + region + ":ec2:reboot"
}

// EnsureStatusCheckAlarm creates the seed's alarm for instanceID, or puts it
// back to the seed's settings if it exists (PutMetricAlarm replaces an
// alarm of the same name), and returns its name.
func (p *Provider) EnsureStatusCheckAlarm(ctx context.Context, instanceID string) (string, error) {
	name := StatusCheckAlarmName(instanceID)
	_, err := p.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName:          awssdk.String(name),
		AlarmDescription:   awssdk.String("kdrill: reboot " + instanceID + " when its instance status check fails for 2 minutes"),
		Namespace:          awssdk.String(alarmNamespace),
		MetricName:         awssdk.String(alarmMetric),
		Dimensions:         []cwtypes.Dimension{{Name: awssdk.String(alarmDimension), Value: awssdk.String(instanceID)}},
		Statistic:          alarmStatistic,
		Period:             awssdk.Int32(alarmPeriod),
		ComparisonOperator: alarmComparison,
		Threshold:          awssdk.Float64(alarmThreshold),
		EvaluationPeriods:  awssdk.Int32(alarmEvaluation),
		DatapointsToAlarm:  awssdk.Int32(alarmDatapoints),
		ActionsEnabled:     awssdk.Bool(true),
		AlarmActions:       []string{rebootAction(p.region)},
	})
	if err != nil {
		return "", p.classify(fmt.Errorf("put alarm %s: %w", name, err))
	}
	return name, nil
}

// statusAlarms returns the alarms on the instance's status-check metric and
// the one named as kdrill names it, whatever it watches.
func (p *Provider) statusAlarms(ctx context.Context, instanceID string) ([]cwtypes.MetricAlarm, error) {
	forMetric, err := p.cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{
		Namespace:  awssdk.String(alarmNamespace),
		MetricName: awssdk.String(alarmMetric),
		Dimensions: []cwtypes.Dimension{{Name: awssdk.String(alarmDimension), Value: awssdk.String(instanceID)}},
	})
	if err != nil {
		return nil, p.classify(fmt.Errorf("describe the alarms on %s of %s: %w", alarmMetric, instanceID, err))
	}
	alarms := forMetric.MetricAlarms
	byName, err := p.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{StatusCheckAlarmName(instanceID)}})
	if err != nil {
		return nil, p.classify(fmt.Errorf("describe alarm %s: %w", StatusCheckAlarmName(instanceID), err))
	}
	for _, a := range byName.MetricAlarms {
		if !slices.ContainsFunc(alarms, func(b cwtypes.MetricAlarm) bool { return awssdk.ToString(b.AlarmName) == awssdk.ToString(a.AlarmName) }) {
			alarms = append(alarms, a)
		}
	}
	return alarms, nil
}

// alarmMismatches names every way a differs from the seed's alarm for
// instanceID in region; none means it is the seed's alarm.
func alarmMismatches(a cwtypes.MetricAlarm, region, instanceID string) []string {
	var out []string
	want := func(field, got, want string) {
		if got != want {
			out = append(out, fmt.Sprintf("%s is %s, want %s", field, orNone(got), want))
		}
	}
	want("namespace", awssdk.ToString(a.Namespace), alarmNamespace)
	want("metric", awssdk.ToString(a.MetricName), alarmMetric)
	var dims []string
	for _, d := range a.Dimensions {
		dims = append(dims, awssdk.ToString(d.Name)+"="+awssdk.ToString(d.Value))
	}
	if got, w := strings.Join(dims, ","), alarmDimension+"="+instanceID; got != w {
		out = append(out, fmt.Sprintf("dimensions are %s, want %s", orNone(got), w))
	}
	want("statistic", string(a.Statistic), string(alarmStatistic))
	want("period", int32s(a.Period), strconv.Itoa(alarmPeriod))
	want("comparison", string(a.ComparisonOperator), string(alarmComparison))
	threshold := ""
	if a.Threshold != nil {
		threshold = strconv.FormatFloat(*a.Threshold, 'g', -1, 64)
	}
	want("threshold", threshold, strconv.FormatFloat(alarmThreshold, 'g', -1, 64))
	want("evaluation periods", int32s(a.EvaluationPeriods), strconv.Itoa(alarmEvaluation))
	// Without DatapointsToAlarm, CloudWatch needs every evaluation period.
	datapoints := a.DatapointsToAlarm
	if datapoints == nil {
		datapoints = a.EvaluationPeriods
	}
	want("datapoints to alarm", int32s(datapoints), strconv.Itoa(alarmDatapoints))
	if !slices.Contains(a.AlarmActions, rebootAction(region)) {
		out = append(out, fmt.Sprintf("alarm actions are [%s], want %s", strings.Join(a.AlarmActions, " "), rebootAction(region)))
	}
	if a.ActionsEnabled != nil && !*a.ActionsEnabled {
		out = append(out, "actions are disabled")
	}
	return out
}

func int32s(v *int32) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(int(*v))
}

func orNone(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}
