package aws_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

func check(res results.Scenario, name string) {
	GinkgoHelper()
	for _, c := range res.Checks {
		if c.Name == name {
			Expect(c.Verdict).To(Equal(slo.Pass), "%s: %s", name, c.Detail)
			return
		}
	}
	Fail("no check named " + name)
}

var _ = Describe(slo.VMShutdown+" on AWS", Label("kind", "aws", "disruptive", slo.VMShutdown), Ordered, func() {
	var res results.Scenario
	BeforeAll(func(ctx SpecContext) {
		res = runDrill(ctx, slo.VMShutdown, drill.Options{})
	}, NodeTimeout(10*time.Minute))

	It("crashes the control-plane instance through EC2 and keeps the workload serving", func() {
		check(res, "workload_kept_serving")
	})
	It("has the seed's CloudWatch alarm reboot the instance", func() {
		check(res, "mitigation_acted")
		Expect(res.Checks).To(ContainElement(HaveField("Detail", ContainSubstring("status-check alarm"))))
	})
	It("recovers within the RTO and keeps data-plane availability", func() {
		check(res, slo.CheckRTO)
		check(res, slo.CheckAvailability)
		Expect(res.Verdict).To(Equal(slo.Pass), res.Reason)
	})
})
