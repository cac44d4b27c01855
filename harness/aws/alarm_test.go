package aws

import (
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/encoding/cbor"
)

func TestEnsureStatusCheckAlarm(t *testing.T) {
	f := newFakeAWS(t)
	p := openFake(t, f, testOptions(f))
	f.on("cloudwatch:PutMetricAlarm", func(call) reply { return cwOK(cbor.Map{}) })
	name, err := p.EnsureStatusCheckAlarm(testContext(t), "i-0cp")
	if err != nil {
		t.Fatal(err)
	}
	if name != "kdrill-i-0cp-status-reboot" {
		t.Errorf("name = %q", name)
	}
	puts := f.callsTo("cloudwatch:PutMetricAlarm")
	if len(puts) != 1 {
		t.Fatalf("%d PutMetricAlarm calls", len(puts))
	}
	in := puts[0].CBOR
	want := map[string]cbor.Value{
		"AlarmName":          cbor.String("kdrill-i-0cp-status-reboot"),
		"Namespace":          cbor.String("AWS/EC2"),
		"MetricName":         cbor.String("StatusCheckFailed_Instance"),
		"Statistic":          cbor.String("Maximum"),
		"Period":             cbor.Uint(60),
		"ComparisonOperator": cbor.String("GreaterThanOrEqualToThreshold"),
		"Threshold":          cbor.Float64(1),
		"EvaluationPeriods":  cbor.Uint(2),
		"DatapointsToAlarm":  cbor.Uint(2),
		"ActionsEnabled":     cbor.Bool(true),
	}
	for k, v := range want {
		if in[k] != v {
			t.Errorf("%s = %#v, want %#v", k, in[k], v)
		}
	}
	dims, _ := in["Dimensions"].(cbor.List)
	if len(dims) != 1 {
		t.Fatalf("Dimensions = %#v", in["Dimensions"])
	}
	dim, _ := dims[0].(cbor.Map)
	if dim["Name"] != cbor.String("InstanceId") || dim["Value"] != cbor.String("i-0cp") {
		t.Errorf("dimension = %#v", dim)
	}
	actions, _ := in["AlarmActions"].(cbor.List)
	if len(actions) != 1 || actions[0] != cbor.String("arn:aws:automate:us-east-1:ec2:reboot") {
		t.Errorf("AlarmActions = %#v", in["AlarmActions"])
	}
	for _, unset := range []string{"TreatMissingData", "ExtendedStatistic", "Metrics", "OKActions", "InsufficientDataActions"} {
		if _, ok := in[unset]; ok {
			t.Errorf("%s is set: %#v", unset, in[unset])
		}
	}
}

func TestRebootActionPartition(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1":     "arn:aws:automate:eu-west-1:ec2:reboot",
		"cn-north-1":    "arn:aws-cn:automate:cn-north-1:ec2:reboot",
		"us-gov-west-1": "arn:aws-us-gov:automate:us-gov-west-1:ec2:reboot",
	} {
		if got := rebootAction(region); got != want {
			t.Errorf("rebootAction(%s) = %s, want %s", region, got, want)
		}
	}
}

// seedAlarm is the alarm the seed asks for, as CloudWatch describes it.
func seedAlarm(name, instance string) cbor.Map {
	return cbor.Map{
		"AlarmName":          cbor.String(name),
		"Namespace":          cbor.String("AWS/EC2"),
		"MetricName":         cbor.String("StatusCheckFailed_Instance"),
		"Dimensions":         cbor.List{cbor.Map{"Name": cbor.String("InstanceId"), "Value": cbor.String(instance)}},
		"Statistic":          cbor.String("Maximum"),
		"Period":             cbor.Uint(60),
		"ComparisonOperator": cbor.String("GreaterThanOrEqualToThreshold"),
		"Threshold":          cbor.Float64(1),
		"EvaluationPeriods":  cbor.Uint(2),
		"DatapointsToAlarm":  cbor.Uint(2),
		"ActionsEnabled":     cbor.Bool(true),
		"AlarmActions":       cbor.List{cbor.String("arn:aws:automate:us-east-1:ec2:reboot")},
		"StateValue":         cbor.String("OK"),
	}
}

func TestAlarmMismatches(t *testing.T) {
	good := func() cwtypes.MetricAlarm {
		return cwtypes.MetricAlarm{
			AlarmName: awssdk.String("a"), Namespace: awssdk.String("AWS/EC2"), MetricName: awssdk.String("StatusCheckFailed_Instance"),
			Dimensions: []cwtypes.Dimension{{Name: awssdk.String("InstanceId"), Value: awssdk.String("i-1")}},
			Statistic:  cwtypes.StatisticMaximum, Period: awssdk.Int32(60), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
			Threshold: awssdk.Float64(1), EvaluationPeriods: awssdk.Int32(2), DatapointsToAlarm: awssdk.Int32(2),
			AlarmActions: []string{"arn:aws:sns:us-east-1:1:x", "arn:aws:automate:us-east-1:ec2:reboot"}, ActionsEnabled: awssdk.Bool(true),
		}
	}
	tests := []struct {
		name string
		edit func(a *cwtypes.MetricAlarm)
		want string
	}{
		{"seed alarm", func(*cwtypes.MetricAlarm) {}, ""},
		{"no datapoints field", func(a *cwtypes.MetricAlarm) { a.DatapointsToAlarm = nil }, ""},
		{"threshold", func(a *cwtypes.MetricAlarm) { a.Threshold = awssdk.Float64(2) }, "threshold is 2, want 1"},
		{"namespace", func(a *cwtypes.MetricAlarm) { a.Namespace = awssdk.String("Custom") }, "namespace is Custom, want AWS/EC2"},
		{"metric", func(a *cwtypes.MetricAlarm) { a.MetricName = awssdk.String("StatusCheckFailed_System") }, "metric is StatusCheckFailed_System, want StatusCheckFailed_Instance"},
		{"dimension", func(a *cwtypes.MetricAlarm) { a.Dimensions[0].Value = awssdk.String("i-2") }, "dimensions are InstanceId=i-2, want InstanceId=i-1"},
		{"statistic", func(a *cwtypes.MetricAlarm) { a.Statistic = cwtypes.StatisticAverage }, "statistic is Average, want Maximum"},
		{"period", func(a *cwtypes.MetricAlarm) { a.Period = awssdk.Int32(300) }, "period is 300, want 60"},
		{"comparison", func(a *cwtypes.MetricAlarm) { a.ComparisonOperator = cwtypes.ComparisonOperatorGreaterThanThreshold }, "comparison is GreaterThanThreshold, want GreaterThanOrEqualToThreshold"},
		{"evaluation periods", func(a *cwtypes.MetricAlarm) { a.EvaluationPeriods = awssdk.Int32(5) }, "evaluation periods is 5, want 2"},
		{"datapoints", func(a *cwtypes.MetricAlarm) { a.DatapointsToAlarm = awssdk.Int32(1) }, "datapoints to alarm is 1, want 2"},
		{"no reboot", func(a *cwtypes.MetricAlarm) { a.AlarmActions = []string{"arn:aws:automate:us-east-1:ec2:recover"} }, "alarm actions are [arn:aws:automate:us-east-1:ec2:recover], want arn:aws:automate:us-east-1:ec2:reboot"},
		{"disabled", func(a *cwtypes.MetricAlarm) { a.ActionsEnabled = awssdk.Bool(false) }, "actions are disabled"},
		{"unset threshold", func(a *cwtypes.MetricAlarm) { a.Threshold = nil }, "threshold is unset, want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good()
			tt.edit(&a)
			got := strings.Join(alarmMismatches(a, "us-east-1", "i-1"), "; ")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("mismatches = %q, want %q", got, tt.want)
			}
		})
	}
}
