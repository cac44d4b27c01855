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
// when its replacement logged that it listens, and when it logged the first
// write it admitted (containerd stamps each log line as it reads it).
type runtimeRestart struct {
	exited, listening, serving time.Time
}

// outage is the runtime's outage: from the exit until the new apiserver
// admitted a write. Listening is not serving: until its caches have
// synced, a few hundred milliseconds later, it fails or times out the
// requests it accepts, and kdrill rightly counts that as outage.
func (r runtimeRestart) outage() time.Duration { return r.serving.Sub(r.exited) }

// The new apiserver's log lines that mark it listening and serving. Quota
// admission logs the first write of each resource it sees in a process;
// the apiserver's own identity lease is written as soon as it can be.
const (
	listeningLine = "Serving securely"
	servingLine   = "quota admission added evaluator for: leases.coordination.k8s.io"
)

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
	stamp := func(marker string) (time.Time, error) {
		line, err := env.Target.Exec(ctx, cp, "grep", "-m1", "-F", marker, cur.LogPath)
		if err != nil {
			return time.Time{}, fmt.Errorf("find the new apiserver's first %q line in %s: %w", marker, cur.LogPath, err)
		}
		// A CRI log line starts with the runtime's RFC 3339 timestamp.
		s, _, _ := strings.Cut(string(line), " ")
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("parse the runtime's log timestamp %q: %w", s, err)
		}
		return t, nil
	}
	rt := runtimeRestart{exited: old.FinishedAt}
	if rt.listening, err = stamp(listeningLine); err != nil {
		return rt, err
	}
	if rt.serving, err = stamp(servingLine); err != nil {
		return rt, err
	}
	return rt, nil
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
	detail := fmt.Sprintf("measured %s, runtime %s (exited %s, listening %s, serving %s), difference %s; %s",
		measured.Round(time.Millisecond), rt.outage().Round(time.Millisecond),
		rt.exited.Format(time.StampMilli), rt.listening.Format(time.StampMilli), rt.serving.Format(time.StampMilli),
		diff.Round(time.Millisecond), gapBreakdown(res, rt))
	AddReportEntry("apiserver-crash RTO", detail)
	Expect(diff.Abs()).To(BeNumerically("<=", time.Second), detail)
}

// gapBreakdown says where a gap between the two comes from: how long
// before the runtime saw the exit the fault struck, and how long after the
// first admitted write each API prober came back.
func gapBreakdown(res results.Scenario, rt runtimeRestart) string {
	var parts []string
	for _, e := range res.Timeline.Events {
		if e.Kind == timeline.FaultInjected {
			parts = append(parts, fmt.Sprintf("fault struck %s before the exit", rt.exited.Sub(e.Time).Round(time.Millisecond)))
			break
		}
	}
	for _, tr := range res.Timeline.Probers {
		for _, x := range tr.Transitions {
			if x.To == timeline.Up && x.Time.After(rt.exited) {
				parts = append(parts, fmt.Sprintf("%s up %s after it served", tr.Prober, x.Time.Sub(rt.serving).Round(time.Millisecond)))
				break
			}
		}
	}
	return strings.Join(parts, ", ")
}
