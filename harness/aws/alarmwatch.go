package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// ErrNoAlarm is wrapped by the errors of AlarmState for an alarm that does
// not exist.
var ErrNoAlarm = errors.New("no such alarm")

// AlarmState returns the alarm's state (OK, ALARM or INSUFFICIENT_DATA),
// the reason CloudWatch gave for it and when it was entered
// (DescribeAlarms' StateValue, StateReason and StateUpdatedTimestamp). An
// alarm that fires and reboots the instance may be back to OK within a
// period or two: to know whether it fired, ask AlarmFiredSince.
func (p *Provider) AlarmState(ctx context.Context, name string) (state, reason string, updated time.Time, err error) {
	out, err := p.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{
		AlarmNames: []string{name},
	})
	if err != nil {
		return "", "", time.Time{}, p.classify(fmt.Errorf("describe alarm %s: %w", name, err))
	}
	for _, a := range out.MetricAlarms {
		if awssdk.ToString(a.AlarmName) == name {
			return string(a.StateValue), awssdk.ToString(a.StateReason), awssdk.ToTime(a.StateUpdatedTimestamp), nil
		}
	}
	return "", "", time.Time{}, fmt.Errorf("alarm %s: %w", name, ErrNoAlarm)
}

// AlarmFiredSince reports whether the alarm went to ALARM at or after t,
// and when it first did, from its history (DescribeAlarmHistory, state
// updates from t on, oldest first). The history keeps transitions a
// poller of AlarmState misses: an alarm whose reboot action brings the
// instance back is in ALARM for as little as one period. CloudWatch keeps
// an alarm's history for 30 days, also after the alarm is deleted.
func (p *Provider) AlarmFiredSince(ctx context.Context, name string, t time.Time) (bool, time.Time, error) {
	// History timestamps are to the millisecond.
	from := t.Truncate(time.Millisecond)
	pages := cloudwatch.NewDescribeAlarmHistoryPaginator(p.cw, &cloudwatch.DescribeAlarmHistoryInput{
		AlarmName:       awssdk.String(name),
		HistoryItemType: cwtypes.HistoryItemTypeStateUpdate,
		StartDate:       awssdk.Time(from),
		ScanBy:          cwtypes.ScanByTimestampAscending,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return false, time.Time{}, p.classify(fmt.Errorf("history of alarm %s since %s: %w", name, t.UTC().Format(time.RFC3339), err))
		}
		for _, h := range page.AlarmHistoryItems {
			at := awssdk.ToTime(h.Timestamp)
			if at.Before(from) || !toAlarm(h) {
				continue
			}
			return true, at, nil
		}
	}
	return false, time.Time{}, nil
}

// toAlarm reports whether a state-update history item is a transition to
// ALARM: its HistoryData's newState, or failing that its summary ("Alarm
// updated from OK to ALARM").
func toAlarm(h cwtypes.AlarmHistoryItem) bool {
	var doc struct {
		NewState struct {
			StateValue string `json:"stateValue"`
		} `json:"newState"`
	}
	if err := json.Unmarshal([]byte(awssdk.ToString(h.HistoryData)), &doc); err == nil && doc.NewState.StateValue != "" {
		return doc.NewState.StateValue == string(cwtypes.StateValueAlarm)
	}
	return strings.HasSuffix(awssdk.ToString(h.HistorySummary), " to "+string(cwtypes.StateValueAlarm))
}
