package drills_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

// check finds a named check of a result and fails the spec, with the
// check's own detail, unless it passed.
func expectCheck(res results.Scenario, name string) {
	GinkgoHelper()
	for _, c := range res.Checks {
		if c.Name == name {
			Expect(c.Verdict).To(Equal(slo.Pass), "%s: %s", name, c.Detail)
			return
		}
	}
	Fail("no check named " + name + " in the result")
}

// sloHolds asserts every SLO of the scenario and its overall verdict.
func sloHolds(res results.Scenario) {
	GinkgoHelper()
	expectCheck(res, slo.CheckRTO)
	expectCheck(res, slo.CheckAvailability)
	Expect(res.Verdict).To(Equal(slo.Pass), res.Reason)
}

var _ = Describe(slo.APIServerCrash, Label("kind", "disruptive", slo.APIServerCrash), Ordered, func() {
	var res results.Scenario
	BeforeAll(func(ctx SpecContext) {
		res = runDrill(ctx, slo.APIServerCrash, drillOptions())
	}, NodeTimeout(6*time.Minute))

	It("keeps serving the workload while the apiserver is down", func() {
		expectCheck(res, "workload_kept_serving")
	})
	It("fails API writes while the apiserver is down", func() {
		expectCheck(res, "api_writes_fail_during_fault")
	})
	It("has the kubelet restart the apiserver's static pod", func() {
		expectCheck(res, "mitigation_acted")
	})
	It("recovers within the RTO and keeps data-plane availability", func() {
		sloHolds(res)
	})
	It("measures an RTO within a second of the container runtime's timestamps", func(ctx SpecContext) {
		measuredRTOMatchesRuntime(ctx, res)
	})
	It("loses no acknowledged write", func() {
		Expect(res.LostAcknowledgedWrites).NotTo(BeNil(), "the writes were not verified")
		Expect(*res.LostAcknowledgedWrites).To(BeZero())
		Expect(res.Writes.Acknowledged).To(BeNumerically(">", 0), "the write prober made no acknowledged write")
	})

	It("fails, naming what did not recover, when the kubelet may not restart it", func(ctx SpecContext) {
		o := drillOptions()
		o.MitigationOff = true
		off, err := drill.Run(ctx, env, slo.APIServerCrash, o)
		Expect(err).NotTo(HaveOccurred())
		Expect(off.Verdict).To(Equal(slo.Fail))
		Expect(off.Reason).To(ContainSubstring("kube-apiserver did not recover"))
		pending, err := env.Journal.Pending()
		Expect(err).NotTo(HaveOccurred())
		Expect(pending).To(BeEmpty(), "the held kubelet must be released")
	}, NodeTimeout(8*time.Minute))
})

var _ = Describe(slo.KubeletCrash, Label("kind", "disruptive", slo.KubeletCrash), Ordered, func() {
	var res results.Scenario
	BeforeAll(func(ctx SpecContext) {
		res = runDrill(ctx, slo.KubeletCrash, drillOptions())
	}, NodeTimeout(5*time.Minute))

	It("keeps the control plane serving while the kubelet is down", func() {
		expectCheck(res, "control_plane_kept_serving")
	})
	It("has systemd restart the kubelet", func() {
		expectCheck(res, "mitigation_acted")
	})
	It("causes no pod churn", func() {
		expectCheck(res, "no_pod_churn")
	})
	It("recovers within the RTO and keeps data-plane availability", func() {
		sloHolds(res)
	})
})

var _ = Describe(slo.VMShutdown, Label("kind", "disruptive", slo.VMShutdown), Ordered, func() {
	var res results.Scenario
	BeforeAll(func(ctx SpecContext) {
		res = runDrill(ctx, slo.VMShutdown, drillOptions())
	}, NodeTimeout(10*time.Minute))

	It("keeps serving the workload while the control-plane machine is down", func() {
		expectCheck(res, "workload_kept_serving")
	})
	It("has the status-check watchdog reboot the machine", func() {
		expectCheck(res, "mitigation_acted")
	})
	It("recovers within the RTO and keeps data-plane availability", func() {
		sloHolds(res)
	})
})

var _ = Describe(slo.EtcdDataLoss, Label("kind", "disruptive", slo.EtcdDataLoss), Ordered, func() {
	var res results.Scenario
	BeforeAll(func(ctx SpecContext) {
		res = runDrill(ctx, slo.EtcdDataLoss, drillOptions())
	}, NodeTimeout(10*time.Minute))

	It("keeps the pods serving while the API server has no storage", func() {
		expectCheck(res, "workload_kept_serving")
	})
	It("leaves the API server unable to come up by itself", func() {
		expectCheck(res, "apiserver_fails_without_its_storage")
	})
	It("restores etcd from the most recent backup", func() {
		expectCheck(res, "mitigation_acted")
	})
	It("loses nothing acknowledged before the backup, and no more than one backup interval after it", func() {
		expectCheck(res, "nothing_lost_before_backup")
		expectCheck(res, slo.CheckRPO)
	})
	It("recovers within the RTO and keeps data-plane availability", func() {
		sloHolds(res)
	})
})

var _ = Describe(slo.NetworkPartition, Label("kind", "disruptive", slo.NetworkPartition), Ordered, func() {
	var res results.Scenario
	BeforeAll(func(ctx SpecContext) {
		res = runDrill(ctx, slo.NetworkPartition, drillOptions())
	}, NodeTimeout(15*time.Minute))

	It("keeps the workers' pods serving through the partition", func() {
		expectCheck(res, "workload_kept_serving")
	})
	It("has the control plane mark the workers NotReady, and the workers lose the API server", func() {
		expectCheck(res, "control_plane_saw_workers_not_ready")
		expectCheck(res, "workers_lost_the_api")
	})
	It("re-provisions the control plane in the workers' zone from the latest backup", func(ctx SpecContext) {
		expectCheck(res, "mitigation_acted")
		nodes, err := env.Target.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		cps := harness.ByRole(nodes, harness.RoleControlPlane)
		Expect(cps).To(HaveLen(1))
		Expect(cps[0].Zone).To(Equal(kind.WorkerZone), "the control plane should now run in the workers' zone")
	})
	It("loses nothing acknowledged before the backup it restored", func() {
		expectCheck(res, "nothing_lost_before_backup")
	})
	It("recovers within the RTO and keeps data-plane availability", func() {
		sloHolds(res)
	})
})
