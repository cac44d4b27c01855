package foundation_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/probe/etcdprobe"
	"github.com/kdrill/kdrill/harness/probe/kubeprobe"
)

// Before any drill trusts the probers' red, they must be green on a
// healthy cluster: every attempt of every prober passes for 30 s.
var _ = Describe("the probers on a healthy cluster", Label("kind"), func() {
	It("are all green for 30 s", func(ctx SpecContext) {
		cfg, err := cluster.RESTConfig()
		Expect(err).NotTo(HaveOccurred())
		c, err := kubeprobe.NewClient(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(kubeprobe.EnsureNamespace(ctx, c, kubeprobe.DefaultNamespace)).To(Succeed())

		dp, err := probe.NewDataPlane(cluster.WorkloadURL(), probe.DataPlaneOptions{})
		Expect(err).NotTo(HaveOccurred())
		defer dp.Close()
		read, err := kubeprobe.NewRead(c, kubeprobe.ReadOptions{})
		Expect(err).NotTo(HaveOccurred())
		write, err := kubeprobe.NewWrite(c, &ledger.Ledger{}, kubeprobe.WriteOptions{Run: "foundation-green"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx context.Context) error { return write.Cleanup(ctx) })
		sched, err := kubeprobe.NewScheduling(c, kubeprobe.SchedulingOptions{Run: "foundation-green"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx context.Context) error { return sched.Cleanup(ctx) })
		kubelet := probe.Command(probe.Kubelet, probe.Schedule{Interval: time.Second, Timeout: 3 * time.Second},
			cluster.Exec, cluster.ControlPlane(), "curl", "-sf", "--max-time", "2", "http://127.0.0.1:10248/healthz")
		e, err := cluster.Etcd(ctx)
		Expect(err).NotTo(HaveOccurred())
		etcd, err := etcdprobe.New(etcdprobe.Options{Endpoints: e.Endpoints, TLS: e.TLS})
		Expect(err).NotTo(HaveOccurred())
		defer etcd.Close()

		var hist probe.History
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		Expect((&probe.Runner{}).Run(rctx, &hist, dp, read, write, sched, kubelet, etcd)).To(Succeed())

		sums := probe.Summarize(hist.Attempts())
		Expect(sums).To(HaveLen(6))
		for _, s := range sums {
			Expect(s.Attempts).To(BeNumerically(">", 0), "%s made no attempt", s.Prober)
			Expect(s.Successes).To(Equal(s.Attempts), "%s: %d of %d attempts passed", s.Prober, s.Successes, s.Attempts)
		}
		for _, a := range hist.Attempts() {
			Expect(a.OK).To(BeTrue(), "%s attempt %d failed: %s", a.Prober, a.Seq, a.Detail)
		}
		report, err := write.Verify(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(report.Lost).To(BeZero())
		Expect(report.Acknowledged).To(BeNumerically(">", 0))
	}, NodeTimeout(2*time.Minute))
})
