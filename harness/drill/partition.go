package drill

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Sources of the partition drill's events.
const (
	// srcControlPlaneView is the control plane's view of the workers.
	srcControlPlaneView = "control-plane-view"
	// srcWorkerView is the workers' view of the control plane.
	srcWorkerView = "worker-view"
	// srcReprovision is the re-provisioning runbook.
	srcReprovision = "reprovision"
)

// Observed is an event kind for what a drill saw the cluster do by
// itself, such as the control plane marking nodes NotReady.
const Observed timeline.EventKind = "observed"

// zoneLabel is the node label naming a node's failure zone.
const zoneLabel = "topology.kubernetes.io/zone"

func init() {
	scenarios[slo.NetworkPartition] = scenario{
		fault: func(d *run) faults.Fault {
			if pf, ok := d.env.Target.(PartitionFaulter); ok {
				return pf.PartitionFault()
			}
			return &faults.Partition{PodCIDRs: d.podCIDRs}
		},
		backups:      true,
		reprovision:  true,
		needsWorkers: true,
		observe: func(ctx context.Context, d *run) (observation, error) {
			nodes, err := d.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			d.podCIDRs = map[string]string{}
			for _, n := range nodes.Items {
				d.podCIDRs[n.Name] = n.Spec.PodCIDR
			}
			return observation{}, nil
		},
		act: reprovisionRunbook,
		mitigated: func(ctx context.Context, d *run, _ observation) (string, bool) {
			for _, e := range d.events.Events() {
				if e.Kind == timeline.MitigationFinished && e.Source == srcReprovision && e.Attrs["error"] == "" {
					return fmt.Sprintf("the control plane was re-provisioned in %s from the backup at revision %s, taken %s before the old one was fenced, and the workers reconnected to it",
						e.Attrs["zone"], e.Attrs["revision"], e.Attrs["backup_age"]), true
				}
			}
			return "", false
		},
		notMitigated: "the workers never reached a working control plane: it was not re-provisioned in their zone",
		expect: func(ctx context.Context, d *run, _ observation, tl *timeline.Timeline) ([]slo.Check, error) {
			return []slo.Check{
				noOutage(d, tl, probe.DataPlane, "workload_kept_serving", "the workers' pods kept serving through the partition"),
				sawEvent(d, srcControlPlaneView, "control_plane_saw_workers_not_ready",
					"the control plane marked every worker NotReady", "the control plane never marked the workers NotReady"),
				sawEvent(d, srcWorkerView, "workers_lost_the_api",
					"the workers could not reach the API server", "the workers kept reaching the API server through the partition"),
			}, nil
		},
	}
}

// PartitionFaulter is a target whose platform partitions networks itself
// (network ACLs on AWS); other targets get faults.Partition, iptables rules
// on every node.
type PartitionFaulter interface {
	PartitionFault() faults.Fault
}

// sawEvent passes when the drill recorded an event from source.
func sawEvent(d *run, source, name, ok, notOK string) slo.Check {
	for _, e := range d.events.Events() {
		if e.Source == source {
			return passed(name, ok)
		}
	}
	return failed(name, notOK)
}

// reprovisionRunbook is the seed's option 1 for a partition that leaves the
// control plane alone in its zone: once the control plane has given up on
// the workers and the workers cannot reach it, fence the old machine, bring
// a fresh one up in the workers' zone from the latest backup, and wait for
// the workers to report to it.
func reprovisionRunbook(ctx context.Context, d *run) error {
	nodes, err := d.env.Target.Nodes(ctx)
	if err != nil {
		return err
	}
	workers := harness.ByRole(nodes, harness.RoleWorker)
	zone := workers[0].Zone

	// Detection, both sides of the cut, as an operator would confirm it.
	if err := d.until(ctx, 3*time.Minute, func(ctx context.Context) bool { return d.workersNotReady(ctx, workers) }); err != nil {
		return fmt.Errorf("wait for the control plane to mark the workers NotReady: %w", err)
	}
	d.events.Record(Observed, srcControlPlaneView, map[string]string{"workers": "NotReady"})
	if err := d.until(ctx, time.Minute, func(ctx context.Context) bool { return !d.workerReachesAPI(ctx, workers[0].Name) }); err != nil {
		return fmt.Errorf("wait for the workers to lose the API server: %w", err)
	}
	d.events.Record(Observed, srcWorkerView, map[string]string{"worker": workers[0].Name, "api": "unreachable"})

	var snap string
	if d.remoteBackups != nil {
		snap, err = d.remoteBackups.LatestEtcdBackup(ctx)
	} else {
		snap, err = faults.LatestSnapshot(d.backupDir)
	}
	if err != nil {
		return err
	}
	revision, age := d.backupOf(snap, time.Now())
	d.events.Record(timeline.MitigationStarted, srcReprovision, map[string]string{"zone": zone, "snapshot": snap, "revision": revision})
	finish := func(err error) error {
		attrs := map[string]string{"zone": zone, "revision": revision, "backup_age": age}
		if err != nil {
			attrs["error"] = err.Error()
		}
		d.events.Record(timeline.MitigationFinished, srcReprovision, attrs)
		return err
	}

	fenced := time.Now()
	r := faults.Reprovision{
		Old: d.cpNode, Zone: zone, Backup: d.controlPlaneBackup, Snapshot: snap,
		Step: func(what string) { d.log.Info("re-provisioning: " + what) },
	}
	// From the fence until the new machine is restored, neither Ctrl-C nor
	// the drill's deadline stops the runbook: stopped halfway, it would
	// leave no control plane at all. The drill waits for it before it
	// reverts the fault. The fence's journal entry covers a kill: its
	// revert, here or in 'kdrill recover', finishes the job.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reprovisionLimit)
	defer cancel()
	d.log.Info("fencing the old control plane", "node", d.cp)
	unfence, err := faults.Inject(cctx, d.env.Journal, d.env.Ref, d.env.Target, &faults.ControlPlaneFence{R: r}, nil)
	if err != nil {
		return finish(err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reprovisionLimit)
		defer cancel()
		if err := unfence(rctx); err != nil {
			d.log.Warn("the control plane is not whole again", "err", err)
			d.fenceErr = err
		}
	}()
	fresh, err := faults.ReprovisionControlPlane(cctx, d.env.Target, r)
	if err != nil {
		return finish(err)
	}
	d.log.Info("re-provisioned; waiting for the API server and the workers", "node", fresh.Name, "address", fresh.Address, "zone", fresh.Zone)
	if err := d.until(ctx, 3*time.Minute, func(ctx context.Context) bool { return d.setZone(ctx, d.cp, zone) == nil }); err != nil {
		return finish(fmt.Errorf("the new API server did not answer: %w", err))
	}
	if err := d.until(ctx, 5*time.Minute, func(ctx context.Context) bool { return d.workersReady(ctx, workers, fenced) }); err != nil {
		return finish(fmt.Errorf("the workers did not report to the new control plane: %w", err))
	}
	return finish(nil)
}

// reprovisionLimit bounds each part of the runbook that Ctrl-C does not
// stop: the fence and the re-provisioning, and the fence's revert.
const reprovisionLimit = 12 * time.Minute

// until polls cond every second until it holds or d passes.
func (d *run) until(ctx context.Context, limit time.Duration, cond func(context.Context) bool) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ok := cond(cctx)
		cancel()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
}

// workersNotReady reports whether the API shows every worker not Ready.
func (d *run) workersNotReady(ctx context.Context, workers []harness.Node) bool {
	for _, w := range workers {
		n, err := d.client.CoreV1().Nodes().Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil || nodeReady(n) {
			return false
		}
	}
	return true
}

// workersReady reports whether every worker is Ready and its kubelet has
// renewed its node lease since since: it reports to the control plane
// serving now. (A kubelet that sees no change in its status renews only
// its lease; the Ready condition's heartbeat can stay minutes old.)
func (d *run) workersReady(ctx context.Context, workers []harness.Node, since time.Time) bool {
	for _, w := range workers {
		n, err := d.client.CoreV1().Nodes().Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil || !nodeReady(n) {
			return false
		}
		l, err := d.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil || l.Spec.RenewTime == nil || l.Spec.RenewTime.Time.Before(since) {
			return false
		}
	}
	return true
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// workerReachesAPI asks, from a worker, whether the control plane's API
// server answers there: the workers' side of the cut.
func (d *run) workerReachesAPI(ctx context.Context, worker string) bool {
	_, err := d.env.Target.Exec(ctx, worker, "curl", "-sk", "--max-time", "2", "-o", "/dev/null", "https://"+d.cp+":6443/livez")
	return err == nil
}

// setZone labels the node with its new zone, as the provider's node
// controller would on a cloud.
func (d *run) setZone(ctx context.Context, node, zone string) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, zoneLabel, zone)
	_, err := d.client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// backupOf returns the revision of a snapshot the drill took and its age
// at time at.
func (d *run) backupOf(snap string, at time.Time) (revision, age string) {
	for _, e := range d.events.Events() {
		if e.Kind == BackupTaken && e.Attrs["path"] == snap {
			revision = e.Attrs["revision"]
			age = at.Sub(e.Time).Round(100 * time.Millisecond).String()
		}
	}
	return revision, age
}
