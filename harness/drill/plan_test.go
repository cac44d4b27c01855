package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/slo"
)

func TestPlan(t *testing.T) {
	for _, id := range Scenarios() {
		for _, off := range []bool{false, true} {
			s, err := Plan(id, "c-control-plane", Options{MitigationOff: off, BackupInterval: 30 * time.Second})
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			for name, text := range map[string]string{"fault": s.Fault, "must hold": s.MustHold, "mitigation": s.Mitigation, "slo": s.SLO, "revert": s.Revert} {
				if text == "" {
					t.Errorf("%s (off=%v): no %s", id, off, name)
				}
			}
			if !strings.Contains(s.Fault, "c-control-plane") {
				t.Errorf("%s: fault %q does not name the node", id, s.Fault)
			}
			if off && !strings.Contains(s.Mitigation, "switched off") {
				t.Errorf("%s: mitigation off, plan says %q", id, s.Mitigation)
			}
		}
	}
	s, _ := Plan(slo.APIServerCrash, "cp", Options{})
	if !strings.Contains(s.SLO, "RTO ≤ 1m0s") || !strings.Contains(s.SLO, "99.5%") {
		t.Errorf("apiserver-crash SLO %q: want the scenarios.md defaults", s.SLO)
	}
	s, _ = Plan(slo.EtcdDataLoss, "cp", Options{BackupInterval: 30 * time.Second})
	if !strings.Contains(s.SLO, "RPO ≤ 1 backup interval(s) (30s)") {
		t.Errorf("etcd-data-loss SLO %q", s.SLO)
	}
	// On a platform with the status-check alarm, vm-shutdown is a crash
	// the alarm recovers from, and the plan says so.
	s, _ = Plan(slo.VMShutdown, "cp", Options{PlatformAlarm: true})
	if !strings.Contains(s.Fault, "crash the control-plane instance cp") || !strings.Contains(s.Mitigation, "CloudWatch alarm") || strings.Contains(s.Revert, "stopped") {
		t.Errorf("vm-shutdown with a platform alarm: %+v", s)
	}
	s, _ = Plan(slo.VMShutdown, "cp", Options{PlatformAlarm: true, MitigationOff: true})
	if !strings.Contains(s.Mitigation, "switched off") {
		t.Errorf("vm-shutdown with a platform alarm, mitigation off: %q", s.Mitigation)
	}
	if _, err := Plan("meteor-strike", "cp", Options{}); err == nil {
		t.Error("unknown scenario: want an error")
	}
}
