package aws_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/suites/internal/testcluster"
)

// network-partition on AWS, with the seed's option 1: network ACL entries
// cut the control plane's subnet off from the workers'; once both sides
// have lost each other, the runbook stops the old instance, launches a new
// one from its launch template into the workers' subnet, restores the
// control plane's files and etcd's data from S3 through SSM, and waits for
// the workers to report to it.
var _ = Describe(slo.NetworkPartition+" on AWS", Label("kind", "aws", "disruptive", slo.NetworkPartition), Ordered, func() {
	var res results.Scenario
	var before harness.Node
	BeforeAll(func(ctx SpecContext) {
		nodes, err := provider.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		before = harness.ByRole(nodes, harness.RoleControlPlane)[0]
		res = runDrill(ctx, slo.NetworkPartition, drill.Options{BackupInterval: 15 * time.Second})
	}, NodeTimeout(15*time.Minute))

	It("keeps the workers' pods serving through the partition", func() {
		check(res, "workload_kept_serving")
	})
	It("has the control plane mark the workers NotReady, and the workers lose the API server", func() {
		check(res, "control_plane_saw_workers_not_ready")
		check(res, "workers_lost_the_api")
	})
	It("re-provisions the control plane in the workers' zone from the backups in S3", func(ctx SpecContext) {
		check(res, "mitigation_acted")
		nodes, err := provider.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		cps := harness.ByRole(nodes, harness.RoleControlPlane)
		Expect(cps).To(HaveLen(1))
		Expect(cps[0].Name).To(Equal(before.Name), "the new instance is the same node")
		Expect(cps[0].Zone).To(Equal(region+"b"), "the control plane should now run in the workers' zone")
		Expect(cps[0].Address).NotTo(Equal(before.Address))
		Expect(provider.NodeRunning(ctx, cps[0].Name)).To(BeTrue())
	})
	It("loses nothing acknowledged before the backup it restored", func() {
		check(res, "nothing_lost_before_backup")
	})
	It("recovers within the RTO and keeps data-plane availability", func(ctx SpecContext) {
		check(res, slo.CheckRTO)
		check(res, slo.CheckAvailability)
		Expect(res.Verdict).To(Equal(slo.Pass), res.Reason)
		testcluster.ExpectHealthy(ctx, cluster)
	})
})
