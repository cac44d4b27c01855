package aws_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/slo"
)

// The process crashes on AWS: the kill goes to the control plane through
// SSM Run Command, and the node's own supervisors (the kubelet for the
// API server's static pod, systemd for the kubelet) bring the process back.
var _ = Describe("process crashes on AWS", Label("kind", "aws", "disruptive"), func() {
	It("kills kube-apiserver through SSM; the kubelet restarts it", Label(slo.APIServerCrash), func(ctx SpecContext) {
		res := runDrill(ctx, slo.APIServerCrash, drill.Options{})
		check(res, "api_writes_fail_during_fault")
		check(res, "workload_kept_serving")
		check(res, "mitigation_acted")
		Expect(res.Checks).To(ContainElement(HaveField("Detail", ContainSubstring("the kubelet restarted kube-apiserver"))))
		Expect(res.Verdict).To(Equal(slo.Pass), res.Reason)
	}, NodeTimeout(8*time.Minute))

	It("kills the kubelet through SSM; systemd restarts it and no pod churns", Label(slo.KubeletCrash), func(ctx SpecContext) {
		res := runDrill(ctx, slo.KubeletCrash, drill.Options{})
		check(res, "control_plane_kept_serving")
		check(res, "no_pod_churn")
		check(res, "mitigation_acted")
		Expect(res.Checks).To(ContainElement(HaveField("Detail", ContainSubstring("systemd restarted the kubelet"))))
		Expect(res.Verdict).To(Equal(slo.Pass), res.Reason)
	}, NodeTimeout(8*time.Minute))
})
