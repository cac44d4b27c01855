package drills_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/timeline"
)

// runtimeRestart is the apiserver's restart as the container runtime on
// the control-plane node recorded it: when the killed container exited,
// and when its replacement logged that it serves (containerd stamps each
// log line as it reads it).
type runtimeRestart struct {
	exited, serving time.Time
}

func (r runtimeRestart) outage() time.Duration { return r.serving.Sub(r.exited) }

// apiserverRestart reads the runtime's record of the restart that the
// drill's mitigation event names: the old and the new container.
func apiserverRestart(ctx context.Context, res results.Scenario) (runtimeRestart, error) {
	var mit *timeline.Event
	for i, e := range res.Timeline.Events {
		if e.Kind == timeline.MitigationFinished && e.Source == "kubelet" {
			mit = &res.Timeline.Events[i]
		}
	}
	if mit == nil || mit.Attrs["replaced"] == "" || mit.Attrs["container"] == "" {
		return runtimeRestart{}, fmt.Errorf("no kubelet restart with both containers in the drill's events")
	}
	cp := testCluster + "-control-plane"
	inspect := func(id string) (status struct {
		FinishedAt time.Time `json:"finishedAt"`
		LogPath    string    `json:"logPath"`
	}, err error) {
		out, err := env.Target.Exec(ctx, cp, "crictl", "inspect", "-o", "json", id)
		if err != nil {
			return status, err
		}
		var v struct {
			Status struct {
				FinishedAt time.Time `json:"finishedAt"`
				LogPath    string    `json:"logPath"`
			} `json:"status"`
		}
		err = json.Unmarshal(out, &v)
		return v.Status, err
	}
	old, err := inspect(mit.Attrs["replaced"])
	if err != nil {
		return runtimeRestart{}, fmt.Errorf("inspect the killed container: %w", err)
	}
	cur, err := inspect(mit.Attrs["container"])
	if err != nil {
		return runtimeRestart{}, fmt.Errorf("inspect the new container: %w", err)
	}
	line, err := env.Target.Exec(ctx, cp, "sh", "-c", "grep -m1 'Serving securely' "+cur.LogPath)
	if err != nil {
		return runtimeRestart{}, fmt.Errorf("find the new apiserver's first serving line in %s: %w", cur.LogPath, err)
	}
	// A CRI log line starts with the runtime's RFC 3339 timestamp.
	stamp, _, _ := strings.Cut(string(line), " ")
	serving, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return runtimeRestart{}, fmt.Errorf("parse the runtime's log timestamp %q: %w", stamp, err)
	}
	return runtimeRestart{exited: old.FinishedAt, serving: serving}, nil
}

// measuredRTOMatchesRuntime is the accuracy target: kdrill's RTO,
// measured from the outside by its probers, within a second of the outage
// the runtime's own timestamps show.
func measuredRTOMatchesRuntime(ctx context.Context, res results.Scenario) {
	GinkgoHelper()
	Expect(res.RTOSeconds).NotTo(BeNil(), "the drill measured no RTO")
	measured := time.Duration(*res.RTOSeconds * float64(time.Second))
	rt, err := apiserverRestart(ctx, res)
	Expect(err).NotTo(HaveOccurred())
	diff := measured - rt.outage()
	AddReportEntry("apiserver-crash RTO", fmt.Sprintf("measured %s, runtime %s (exited %s, serving %s), difference %s",
		measured.Round(time.Millisecond), rt.outage().Round(time.Millisecond),
		rt.exited.Format(time.StampMilli), rt.serving.Format(time.StampMilli), diff.Round(time.Millisecond)))
	Expect(diff.Abs()).To(BeNumerically("<=", time.Second),
		"measured RTO %s, but the runtime saw the apiserver exit at %s and serve again at %s (%s)",
		measured, rt.exited.Format(time.RFC3339Nano), rt.serving.Format(time.RFC3339Nano), rt.outage())
}
