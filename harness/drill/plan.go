package drill

import (
	"fmt"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness/slo"
)

// Step says, in words, what drilling one scenario will do: for people to
// read before anything happens ('kdrill plan').
type Step struct {
	ID         string
	Fault      string // what is injected, where
	MustHold   string // the seed's stated results while the fault lasts
	Mitigation string // what should bring the cluster back
	SLO        string // the bounds the outcome is judged against
	Revert     string // how the fault is undone
}

// Plan describes drilling id on a cluster whose control-plane node is cp,
// with the options and SLOs given. It touches nothing.
func Plan(id, cp string, o Options) (Step, error) {
	if !Known(id) {
		return Step{}, fmt.Errorf("unknown scenario %q", id)
	}
	o = o.withDefaults()
	s := Step{ID: id, SLO: describeBounds(o.SLO.For(id), id, o.BackupInterval)}
	off := o.MitigationOff
	switch id {
	case slo.APIServerCrash:
		s.Fault = fmt.Sprintf("SIGKILL kube-apiserver on %s; its static-pod manifest stays", cp)
		s.MustHold = "existing pods and Services keep serving; API writes fail while it is down"
		s.Mitigation = "the kubelet restarts the static pod (watched: a new container id from crictl)"
		s.Revert = "nothing to undo after a crash"
		if off {
			s.Fault = "stop the kubelet on " + cp + ", then " + s.Fault
			s.Mitigation = "switched off (the kubelet is stopped): the drill must fail"
			s.Revert = "start the kubelet again"
		}
	case slo.KubeletCrash:
		s.Fault = fmt.Sprintf("SIGKILL the kubelet on %s", cp)
		s.MustHold = "the control plane keeps serving; no pod is recreated or restarted"
		s.Mitigation = "systemd restarts the kubelet (watched: a new MainPID)"
		s.Revert = "nothing to undo after a crash"
		if off {
			s.Fault = "add a Restart=no drop-in to the kubelet unit on " + cp + ", then " + s.Fault
			s.Mitigation = "switched off (Restart=no): the drill must fail"
			s.Revert = "remove the drop-in and start the kubelet"
		}
	case slo.VMShutdown:
		s.Fault = fmt.Sprintf("stop the control-plane machine %s", cp)
		if o.ForceStop {
			s.Fault += " (forced: a power cut, not a clean stop)"
		}
		s.MustHold = "existing pods and Services keep serving"
		w := o.Watchdog
		s.Mitigation = fmt.Sprintf("the status-check watchdog restarts the machine when %d of the last %d checks (every %s) failed", w.Datapoints, w.Evaluation, w.Period)
		s.Revert = "start the machine if it is still stopped"
		if off {
			s.Mitigation = "switched off (no watchdog): the drill must fail"
		}
		if o.PlatformAlarm {
			// A stopped instance has no status checks for an alarm to
			// fail on: the fault is a crash (docs/aws.md).
			s.Fault = fmt.Sprintf("crash the control-plane instance %s with a diagnostic interrupt (the guest panics; EC2 keeps it running)", cp)
			s.Mitigation = "the seed's CloudWatch alarm reboots the instance after 2 of 2 failed one-minute status checks (kdrill puts it in place first)"
			s.Revert = "reboot the instance if its status check still fails"
			if off {
				s.Mitigation = "switched off (the alarm is not put in place): the drill must fail unless an alarm of the account's own reboots it"
			}
		}
	case slo.EtcdDataLoss:
		s.Fault = fmt.Sprintf("overwrite etcd's data on %s with random bytes and kill etcd, %s after a backup", cp, (o.BackupInterval / 3).Round(time.Second))
		s.MustHold = "the kubelets keep running the same pods and proxying; the API server fails to come up"
		s.Mitigation = fmt.Sprintf("etcd is snapshotted every %s; the restore runbook stops the API server and etcd, restores the newest snapshot, and starts them again", o.BackupInterval)
		s.Revert = "restore the newest snapshot if etcd is not healthy"
		if off {
			s.Mitigation = fmt.Sprintf("etcd is snapshotted every %s; the restore runbook is switched off: the drill must fail", o.BackupInterval)
		}
	case slo.NetworkPartition:
		s.Fault = fmt.Sprintf("drop all traffic between %s (and its pods) and the workers (and theirs), both ways, with tagged iptables rules on every node", cp)
		s.MustHold = "the workers' pods and Services keep serving; the control plane marks the workers NotReady; the workers cannot reach the API server"
		s.Mitigation = fmt.Sprintf("etcd is snapshotted every %s and the control plane's certificates and configuration are backed up; once both sides have lost each other the runbook fences %s, launches a fresh control-plane machine in the workers' zone, restores both backups onto it, and waits for the workers to report to it", o.BackupInterval, cp)
		s.Revert = "delete exactly the rules the fault added, on every node still there"
		if off {
			s.Mitigation = fmt.Sprintf("etcd is snapshotted every %s; the re-provisioning runbook is switched off: the drill must fail", o.BackupInterval)
		}
	}
	return s, nil
}

func describeBounds(b slo.Bounds, id string, backup time.Duration) string {
	var parts []string
	if b.MaxRTO != nil {
		parts = append(parts, "RTO ≤ "+b.MaxRTO.D().String())
	}
	if b.MinDataPlaneAvailability != nil {
		parts = append(parts, fmt.Sprintf("data-plane availability ≥ %g%%", *b.MinDataPlaneAvailability*100))
	}
	if b.MaxLostAcknowledgedWrites != nil {
		parts = append(parts, fmt.Sprintf("lost acknowledged writes ≤ %d", *b.MaxLostAcknowledgedWrites))
	}
	if b.MaxRPO != nil {
		parts = append(parts, "RPO ≤ "+b.MaxRPO.D().String())
	}
	if b.MaxRPOBackupIntervals != nil && id == slo.EtcdDataLoss {
		parts = append(parts, fmt.Sprintf("RPO ≤ %g backup interval(s) (%s)", *b.MaxRPOBackupIntervals, time.Duration(*b.MaxRPOBackupIntervals*float64(backup))))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
