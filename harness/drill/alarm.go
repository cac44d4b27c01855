package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness/timeline"
)

// StatusAlarms is a target whose platform reboots a machine that fails its
// status check by itself once an alarm says so: the seed's CloudWatch alarm
// on AWS. kdrill configures the alarm before the fault and then only
// watches; on targets without one, kdrill's own watchdog plays its part.
type StatusAlarms interface {
	faults.Crashers
	InstanceID(ctx context.Context, node string) (string, error)
	EnsureStatusCheckAlarm(ctx context.Context, instanceID string) (string, error)
	// AlarmFiredSince reports whether the alarm went to ALARM after t, and
	// when.
	AlarmFiredSince(ctx context.Context, name string, t time.Time) (bool, time.Time, error)
}

// alarmSource is the timeline source of the platform's alarm.
const alarmSource = "alarm"

// ensureAlarm configures the status-check alarm for the control plane.
func (d *run) ensureAlarm(ctx context.Context, a StatusAlarms) error {
	id, err := a.InstanceID(ctx, d.cp)
	if err != nil {
		return err
	}
	name, err := a.EnsureStatusCheckAlarm(ctx, id)
	if err != nil {
		return fmt.Errorf("configure the status-check alarm: %w", err)
	}
	d.alarm = name
	d.events.Record(Observed, alarmSource, map[string]string{"alarm": name, "instance": id, "state": "configured"})
	return nil
}

// alarmActed reports whether the alarm fired after the fault and the
// machine passes its status check again.
func (d *run) alarmActed(ctx context.Context, a StatusAlarms) (string, bool) {
	fired, at, err := a.AlarmFiredSince(ctx, d.alarm, d.injectedAt)
	if err != nil || !fired {
		return "", false
	}
	if impaired, err := a.NodeImpaired(ctx, d.cp); err != nil || impaired {
		return "", false
	}
	d.events.Record(timeline.MitigationFinished, alarmSource, map[string]string{"alarm": d.alarm, "fired": at.Format(time.RFC3339Nano)})
	return fmt.Sprintf("the status-check alarm %s fired %s after the fault and the platform rebooted %s",
		d.alarm, at.Sub(d.injectedAt).Round(100*time.Millisecond), d.cp), true
}
