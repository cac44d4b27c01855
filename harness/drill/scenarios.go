package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/probe/kubeprobe"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// observation is what a scenario notes about the cluster before the fault,
// to tell afterwards whether its mitigation acted.
type observation map[string]string

// scenario is one claim of the seed, made runnable.
type scenario struct {
	fault    func(d *run) faults.Fault
	watchdog bool // the status-check watchdog is this scenario's mitigation
	backups  bool // etcd is snapshotted on a schedule during the drill
	// reprovision: the mitigation re-provisions the control plane, so the
	// drill also backs up its certificates and configuration.
	reprovision bool
	// act is a mitigation the drill performs itself (a runbook), started
	// right after the fault; it records its own events.
	act          func(ctx context.Context, d *run) error
	needsWorkers bool
	observe      func(ctx context.Context, d *run) (observation, error)
	// mitigated reports whether the mitigation has acted, and how; the
	// probers tell whether service is back.
	mitigated func(ctx context.Context, d *run, before observation) (string, bool)
	// notMitigated says what did not recover when the mitigation did
	// not act before the deadline.
	notMitigated string
	// expect checks what must hold during the fault.
	expect func(ctx context.Context, d *run, before observation, tl *timeline.Timeline) ([]slo.Check, error)
}

// Scenarios lists the scenario ids this package can drill, in the order of
// docs/scenarios.md.
func Scenarios() []string {
	var ids []string
	for _, id := range slo.Scenarios() {
		if _, ok := scenarios[id]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// Known reports whether id can be drilled.
func Known(id string) bool { _, ok := scenarios[id]; return ok }

var scenarios = map[string]scenario{
	slo.APIServerCrash: {
		fault: func(d *run) faults.Fault {
			f := faults.APIServerCrash()
			f.HoldSupervisor = d.o.MitigationOff
			return f
		},
		needsWorkers: true,
		observe: func(ctx context.Context, d *run) (observation, error) {
			id, _, err := d.staticPodContainer(ctx, "kube-apiserver")
			return observation{"container": id}, err
		},
		mitigated: func(ctx context.Context, d *run, before observation) (string, bool) {
			id, created, err := d.staticPodContainer(ctx, "kube-apiserver")
			if err != nil || id == "" || id == before["container"] {
				return "", false
			}
			d.events.Record(timeline.MitigationFinished, "kubelet", map[string]string{"restarted": "kube-apiserver", "container": short(id), "replaced": short(before["container"]), "container_created": created.Format(time.RFC3339Nano)})
			return fmt.Sprintf("the kubelet restarted kube-apiserver: new container %s created %s after the fault", short(id), created.Sub(d.injectedAt).Round(10*time.Millisecond)), true
		},
		notMitigated: "kube-apiserver did not recover: the kubelet did not restart its static pod",
		expect: func(ctx context.Context, d *run, before observation, tl *timeline.Timeline) ([]slo.Check, error) {
			var checks []slo.Check
			checks = append(checks, outageAfterFault(d, tl, probe.APIWrite, "api_writes_fail_during_fault",
				"API writes failed while kube-apiserver was down", "API writes kept succeeding after kube-apiserver was killed"))
			checks = append(checks, noOutage(d, tl, probe.DataPlane, "workload_kept_serving", "the workload answered throughout"))
			return checks, nil
		},
	},
	slo.KubeletCrash: {
		fault: func(d *run) faults.Fault {
			f := faults.KubeletCrash()
			f.HoldSupervisor = d.o.MitigationOff
			return f
		},
		observe: func(ctx context.Context, d *run) (observation, error) {
			// A pod still coming back from an earlier fault (a control-plane
			// pod in crash-loop back-off) restarts whenever the kubelet
			// does: wait for a settled cluster, or this drill counts it.
			if err := d.until(ctx, 2*time.Minute, func(ctx context.Context) bool { return d.client.podsSettled(ctx) }); err != nil {
				d.log.Warn("pods still not all ready before the fault; a pod restarting now will count as churn", "err", err)
			}
			pid, err := d.kubeletPID(ctx)
			if err != nil {
				return nil, err
			}
			pods, err := d.client.podFingerprint(ctx)
			return observation{"pid": pid, "pods": pods}, err
		},
		mitigated: func(ctx context.Context, d *run, before observation) (string, bool) {
			pid, err := d.kubeletPID(ctx)
			if err != nil || pid == "0" || pid == "" || pid == before["pid"] {
				return "", false
			}
			d.events.Record(timeline.MitigationFinished, "systemd", map[string]string{"restarted": "kubelet", "pid": pid})
			return fmt.Sprintf("systemd restarted the kubelet (pid %s, was %s)", pid, before["pid"]), true
		},
		notMitigated: "the kubelet did not recover: systemd did not restart it",
		expect: func(ctx context.Context, d *run, before observation, tl *timeline.Timeline) ([]slo.Check, error) {
			var checks []slo.Check
			checks = append(checks, noOutage(d, tl, probe.APIRead, "control_plane_kept_serving", "the API answered reads throughout"))
			checks = append(checks, noOutage(d, tl, probe.DataPlane, "workload_kept_serving", "the workload answered throughout"))
			pods, err := d.client.podFingerprint(ctx)
			switch {
			case err != nil:
				checks = append(checks, failed("no_pod_churn", "list pods after the fault: "+err.Error()))
			case pods != before["pods"]:
				checks = append(checks, failed("no_pod_churn", "pods were recreated or restarted while the kubelet was down: before "+before["pods"]+", after "+pods))
			default:
				checks = append(checks, passed("no_pod_churn", "every pod kept its uid and restart count"))
			}
			return checks, nil
		},
	},
	slo.VMShutdown: {
		fault: func(d *run) faults.Fault {
			// A platform alarm watches status checks, which a machine
			// stopped through the API no longer has: crash it instead.
			if _, ok := d.env.Target.(StatusAlarms); ok {
				return &faults.MachineCrash{}
			}
			return &faults.MachineStop{Force: d.o.ForceStop}
		},
		watchdog:     true,
		needsWorkers: true,
		observe:      func(context.Context, *run) (observation, error) { return observation{}, nil },
		mitigated: func(ctx context.Context, d *run, _ observation) (string, bool) {
			if a, ok := d.env.Target.(StatusAlarms); ok && d.alarm != "" {
				return d.alarmActed(ctx, a)
			}
			for _, e := range d.events.Events() {
				if e.Kind == timeline.MitigationStarted && e.Source == "watchdog" && d.watchdogActed() {
					return fmt.Sprintf("the status-check watchdog rebooted %s %s after the fault (%s)",
						e.Attrs["node"], e.Time.Sub(d.injectedAt).Round(100*time.Millisecond), e.Attrs["rule"]), true
				}
			}
			return "", false
		},
		notMitigated: "the control-plane machine stayed down: the status-check watchdog (on AWS, the alarm) did not reboot it",
		expect: func(ctx context.Context, d *run, _ observation, tl *timeline.Timeline) ([]slo.Check, error) {
			var checks []slo.Check
			checks = append(checks, noOutage(d, tl, probe.DataPlane, "workload_kept_serving", "the workload answered throughout"))
			return checks, nil
		},
	},
}

func init() {
	scenarios[slo.EtcdDataLoss] = scenario{
		fault:        func(d *run) faults.Fault { return &faults.EtcdDataLoss{BackupDir: d.backupDir} },
		backups:      true,
		needsWorkers: true,
		observe:      func(context.Context, *run) (observation, error) { return observation{}, nil },
		act:          restoreRunbook,
		mitigated: func(ctx context.Context, d *run, _ observation) (string, bool) {
			for _, e := range d.events.Events() {
				if e.Kind == timeline.MitigationFinished && e.Source == "restore" && e.Attrs["error"] == "" {
					return fmt.Sprintf("etcd was restored from the backup at revision %s taken %s before the fault", e.Attrs["revision"], e.Attrs["backup_age"]), true
				}
			}
			return "", false
		},
		notMitigated: "etcd and the API server did not recover: the data was not restored from a backup",
		expect: func(ctx context.Context, d *run, _ observation, tl *timeline.Timeline) ([]slo.Check, error) {
			return []slo.Check{
				outageAfterFault(d, tl, probe.APIRead, "apiserver_fails_without_its_storage",
					"the API server failed while etcd's data was gone", "the API server kept answering after etcd's data was destroyed"),
				noOutage(d, tl, probe.DataPlane, "workload_kept_serving", "the kubelets kept the pods serving throughout"),
			}, nil
		},
	}
}

// restoreRunbook waits until etcd is seen down, then restores the newest
// backup taken before the fault.
func restoreRunbook(ctx context.Context, d *run) error {
	// Detection: the etcd or API read prober failing since the fault.
	for {
		if bad := d.unhealthy(d.injectedAt, []string{probe.APIRead}); len(bad) > 0 && d.failedSince(probe.APIRead, d.injectedAt) >= 3 {
			break
		}
		if !sleep(ctx, 500*time.Millisecond) {
			return ctx.Err()
		}
	}
	var snap string
	var err error
	if d.remoteBackups != nil {
		snap, err = d.remoteBackups.LatestEtcdBackup(ctx)
	} else {
		snap, err = faults.LatestSnapshot(d.backupDir)
	}
	if err != nil {
		return err
	}
	var revision, age string
	for _, e := range d.events.Events() {
		if e.Kind == BackupTaken && e.Attrs["path"] == snap {
			revision = e.Attrs["revision"]
			age = d.injectedAt.Sub(e.Time).Round(100 * time.Millisecond).String()
		}
	}
	d.events.Record(timeline.MitigationStarted, "restore", map[string]string{"snapshot": snap, "revision": revision})
	nodes, err := d.env.Target.Nodes(ctx)
	if err != nil {
		return err
	}
	var addr string
	for _, n := range nodes {
		if n.Name == d.cp {
			addr = n.Address
		}
	}
	if d.remoteBackups != nil {
		err = d.remoteBackups.RestoreEtcdBackup(ctx, d.cp, snap)
	} else {
		err = faults.RestoreEtcd(ctx, d.env.Target, d.cp, addr, snap)
	}
	attrs := map[string]string{"snapshot": snap, "revision": revision, "backup_age": age}
	if err != nil {
		attrs["error"] = err.Error()
	}
	d.events.Record(timeline.MitigationFinished, "restore", attrs)
	return err
}

// failedSince counts prober's failed attempts started after t.
func (d *run) failedSince(prober string, t time.Time) int {
	n := 0
	for _, a := range d.hist.Attempts() {
		if a.Prober == prober && !a.OK && !a.Start.Before(t) {
			n++
		}
	}
	return n
}

// offNote explains a missing mitigation when the drill switched it off.
func offNote(d *run) string {
	if d.o.MitigationOff {
		return " (the mitigation was switched off for this drill)"
	}
	return ""
}

func (d *run) watchdogActed() bool {
	for _, e := range d.events.Events() {
		if e.Kind == timeline.MitigationFinished && e.Source == "watchdog" && e.Attrs["error"] == "" {
			return true
		}
	}
	return false
}

func (d *run) newWatchdog() (*watchdog, bool) {
	power, ok := d.env.Target.(faults.Machines)
	if !ok {
		return nil, false
	}
	return &watchdog{o: d.o.Watchdog, target: d.env.Target, power: power, node: d.cp, events: d.events}, true
}

// staticPodContainer returns the running container of a static pod on the
// control-plane node and when the runtime created it.
func (d *run) staticPodContainer(ctx context.Context, name string) (string, time.Time, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := d.env.Target.Exec(cctx, d.cp, "crictl", "ps", "--name", "^"+name+"$", "--state", "running", "-o", "json")
	if err != nil {
		return "", time.Time{}, err
	}
	var ps struct {
		Containers []struct {
			ID        string `json:"id"`
			CreatedAt string `json:"createdAt"`
		} `json:"containers"`
	}
	if err := json.Unmarshal(out, &ps); err != nil {
		return "", time.Time{}, fmt.Errorf("parse crictl ps: %w", err)
	}
	if len(ps.Containers) == 0 {
		return "", time.Time{}, nil
	}
	c := ps.Containers[0]
	ns, _ := strconv.ParseInt(c.CreatedAt, 10, 64)
	return c.ID, time.Unix(0, ns), nil
}

// kubeletPID is systemd's main PID of the kubelet unit, "0" when stopped.
func (d *run) kubeletPID(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := d.env.Target.Exec(cctx, d.cp, "systemctl", "show", "--property", "MainPID", "--value", "kubelet")
	return strings.TrimSpace(string(out)), err
}

// outageAfterFault passes when prober went down after the fault.
func outageAfterFault(d *run, tl *timeline.Timeline, prober, name, ok, notOK string) slo.Check {
	inj := timeline.Offset(d.injectedAt.Sub(tl.Start))
	for _, o := range tl.Outages(prober) {
		if o.End >= inj {
			return passed(name, ok)
		}
	}
	return failed(name, notOK)
}

// noOutage passes when prober never went down (debounced) from the fault
// on. An outage over before the fault went in (a blip while the cluster
// settled from the drill before) is not the fault's doing, as for the RTO;
// the timeline still shows it.
func noOutage(d *run, tl *timeline.Timeline, prober, name, ok string) slo.Check {
	inj, injected := tl.FirstEvent(timeline.FaultInjected)
	for _, o := range tl.Outages(prober) {
		if injected && o.End < inj.At && !o.Open {
			continue
		}
		return failed(name, fmt.Sprintf("%s was down from %.1fs to %.1fs of the drill (%s)", prober, o.Start.Seconds(), o.End.Seconds(), o.Detail))
	}
	return passed(name, ok)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// kubeClient is the drill's own view of the API, besides the probers.
type kubeClient struct{ kubernetes.Interface }

func (c kubeClient) ready(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(cctx)
	return err
}

// podsSettled reports whether every pod (but the scheduling prober's) is
// done or running with all its containers ready.
func (c kubeClient) podsSettled(ctx context.Context) bool {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pods, err := c.CoreV1().Pods("").List(cctx, metav1.ListOptions{})
	if err != nil {
		return false
	}
	for _, p := range pods.Items {
		if p.Labels[kubeprobe.LabelProbe] != "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Status.Phase != corev1.PodRunning {
			return false
		}
		for _, s := range p.Status.ContainerStatuses {
			if !s.Ready {
				return false
			}
		}
	}
	return true
}

// podFingerprint sums up every pod's uid and restart counts, to tell
// whether any pod was recreated or restarted.
func (c kubeClient) podFingerprint(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pods, err := c.CoreV1().Pods("").List(cctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	var parts []string
	for _, p := range pods.Items {
		if p.Labels[kubeprobe.LabelProbe] != "" {
			continue // the scheduling prober's own pods come and go
		}
		restarts := 0
		for _, s := range p.Status.ContainerStatuses {
			restarts += int(s.RestartCount)
		}
		parts = append(parts, fmt.Sprintf("%s/%s:%s:%d", p.Namespace, p.Name, short(string(p.UID)), restarts))
	}
	slices.Sort(parts)
	return strings.Join(parts, ","), nil
}
