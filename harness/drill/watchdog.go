package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/timeline"
)

// WatchdogOptions configure the status-check watchdog, the local
// counterpart of the seed's CloudWatch alarm: a check every Period, and a
// reboot when Datapoints of the last Evaluation checks failed.
type WatchdogOptions struct {
	Period     time.Duration `json:"period"`
	Datapoints int           `json:"datapoints"`
	Evaluation int           `json:"evaluation"`
}

// DefaultWatchdog is the seed's rule: StatusCheckFailed >= 1 for 2
// datapoints within 2 minutes, at the metric's 60 s period.
var DefaultWatchdog = WatchdogOptions{Period: time.Minute, Datapoints: 2, Evaluation: 2}

func (o WatchdogOptions) withDefaults() WatchdogOptions {
	if o.Period <= 0 {
		o.Period = DefaultWatchdog.Period
	}
	if o.Evaluation <= 0 {
		o.Evaluation = DefaultWatchdog.Evaluation
	}
	if o.Datapoints <= 0 || o.Datapoints > o.Evaluation {
		o.Datapoints = o.Evaluation
	}
	return o
}

// watchdog checks one node each period and restarts its machine when the
// check fails Datapoints times out of the last Evaluation. It acts by itself:
// the drill only watches for its events.
type watchdog struct {
	o      WatchdogOptions
	target harness.Target
	power  faults.Machines
	node   string
	events *timeline.EventLog
}

// healthy is the instance status check: the machine runs and answers.
func (w *watchdog) healthy(ctx context.Context) bool {
	running, err := w.power.NodeRunning(ctx, w.node)
	if err != nil || !running {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = w.target.Exec(cctx, w.node, "true")
	return err == nil
}

// run checks until ctx ends.
func (w *watchdog) run(ctx context.Context) {
	o := w.o.withDefaults()
	var window []bool // true = failed
	t := time.NewTicker(o.Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		window = append(window, !w.healthy(ctx))
		if len(window) > o.Evaluation {
			window = window[1:]
		}
		failed := 0
		for _, f := range window {
			if f {
				failed++
			}
		}
		if failed < o.Datapoints {
			continue
		}
		w.events.Record(timeline.MitigationStarted, "watchdog", map[string]string{
			"node": w.node, "action": "reboot",
			"rule": fmt.Sprintf("%d of %d checks failed at %s", failed, len(window), o.Period),
		})
		err := w.reboot(ctx)
		attrs := map[string]string{"node": w.node}
		if err != nil {
			attrs["error"] = err.Error()
		}
		w.events.Record(timeline.MitigationFinished, "watchdog", attrs)
		window = window[:0]
	}
}

// reboot starts a stopped machine, or stops and starts a hung one.
func (w *watchdog) reboot(ctx context.Context) error {
	running, err := w.power.NodeRunning(ctx, w.node)
	if err != nil {
		return err
	}
	if running {
		if err := w.power.StopNode(ctx, w.node, true); err != nil {
			return err
		}
	}
	return w.power.StartNode(ctx, w.node)
}
