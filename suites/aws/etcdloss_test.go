package aws_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

// etcd-data-loss on AWS: snapshots go from the node straight to S3 on a
// schedule, and the restore runbook brings the newest back through SSM.
var _ = Describe(slo.EtcdDataLoss+" on AWS", Label("kind", "aws", "disruptive", slo.EtcdDataLoss), Ordered, func() {
	var res results.Scenario
	BeforeAll(func(ctx SpecContext) {
		res = runDrill(ctx, slo.EtcdDataLoss, drill.Options{BackupInterval: 15 * time.Second})
	}, NodeTimeout(10*time.Minute))

	It("keeps the pods serving while the API server has no storage", func() {
		check(res, "workload_kept_serving")
		check(res, "apiserver_fails_without_its_storage")
	})
	It("restores etcd from the newest snapshot in S3", func() {
		check(res, "mitigation_acted")
		Expect(res.Checks).To(ContainElement(HaveField("Detail", ContainSubstring("etcd was restored from the backup"))))
	})
	It("loses nothing acknowledged before the backup, and no more than one backup interval after it", func() {
		check(res, "nothing_lost_before_backup")
		check(res, slo.CheckRPO)
	})
	It("recovers within the RTO and keeps data-plane availability", func() {
		check(res, slo.CheckRTO)
		check(res, slo.CheckAvailability)
		Expect(res.Verdict).To(Equal(slo.Pass), res.Reason)
	})
})
