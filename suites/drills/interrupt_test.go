package drills_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/slo"
)

// Cleanup that cannot be skipped: the real CLI is interrupted while each
// fault is in place (the mitigation held off, so the fault stays), and the
// cluster must come back whole with nothing left in the journal. After a
// SIGKILL, 'kdrill recover' must finish the job, and a second recover must
// find nothing to do.
var _ = Describe("interrupting kdrill run", Label("kind", "disruptive", "interrupt"), Ordered, func() {
	var kdrill string

	BeforeAll(func() {
		var err error
		kdrill, err = gexec.Build("github.com/kdrill/kdrill/cmd/kdrill")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})

	start := func(journal string, args ...string) *gexec.Session {
		base := []string{"run", "--name", testCluster, "--journal", journal, "--out", GinkgoT().TempDir()}
		s, err := gexec.Start(exec.Command(kdrill, append(base, args...)...), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		// The fault is in place once the drill waits for recovery.
		Eventually(s.Err).WithTimeout(4 * time.Minute).Should(gbytes.Say("waiting for recovery"))
		return s
	}

	for _, tc := range []struct {
		id   string
		args []string
	}{
		{slo.APIServerCrash, []string{"--mitigation-off"}},
		{slo.KubeletCrash, []string{"--mitigation-off"}},
		{slo.VMShutdown, []string{"--watchdog-period", "10m"}},
		{slo.EtcdDataLoss, []string{"--mitigation-off"}},
		{slo.NetworkPartition, []string{"--mitigation-off"}},
	} {
		It("reverts "+tc.id+" on SIGINT and exits non-zero", func(ctx SpecContext) {
			journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
			s := start(journal, append([]string{"--scenario", tc.id}, tc.args...)...)
			time.Sleep(2 * time.Second)
			s.Signal(syscall.SIGINT)
			Eventually(s).WithTimeout(4 * time.Minute).Should(gexec.Exit())
			Expect(s.ExitCode()).NotTo(BeZero())
			Expect(s.Err).To(gbytes.Say("interrupted: every injected fault was reverted"))
			expectNothingPending(kdrill, journal)
			expectHealthy(ctx)
		}, NodeTimeout(10*time.Minute))
	}

	It("leaves a SIGKILLed network-partition to kdrill recover, which is idempotent", func(ctx SpecContext) {
		journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
		s := start(journal, "--scenario", slo.NetworkPartition, "--mitigation-off")
		s.Kill()
		Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit())

		rec, err := gexec.Start(exec.Command(kdrill, "recover", "--journal", journal), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(rec).WithTimeout(3 * time.Minute).Should(gexec.Exit(0))
		Expect(rec.Out).To(gbytes.Say(`reverted 1 fault\(s\)`))
		expectHealthy(ctx)
		expectNothingPending(kdrill, journal)
	}, NodeTimeout(10*time.Minute))

	It("leaves a SIGKILLed vm-shutdown to kdrill recover, which is idempotent", func(ctx SpecContext) {
		journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
		s := start(journal, "--scenario", slo.VMShutdown, "--watchdog-period", "10m")
		s.Kill()
		Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit())

		By("refusing a new run while the journal holds the fault")
		again, err := gexec.Start(exec.Command(kdrill, "run", "--name", testCluster, "--journal", journal), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(again).WithTimeout(time.Minute).Should(gexec.Exit(2))
		Expect(again.Err).To(gbytes.Say("run 'kdrill recover' first"))

		By("recovering")
		rec, err := gexec.Start(exec.Command(kdrill, "recover", "--journal", journal), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(rec).WithTimeout(3 * time.Minute).Should(gexec.Exit(0))
		Expect(rec.Out).To(gbytes.Say(`reverted 1 fault\(s\)`))
		expectHealthy(ctx)
		expectNothingPending(kdrill, journal)
	}, NodeTimeout(10*time.Minute))
})

// expectNothingPending runs kdrill recover, which must find nothing to do.
func expectNothingPending(kdrill, journal string) {
	GinkgoHelper()
	s, err := gexec.Start(exec.Command(kdrill, "recover", "--journal", journal), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit(0))
	Expect(s.Out).To(gbytes.Say("nothing to recover"))
}

// expectHealthy waits until the API is ready, every node Ready and the
// workload answering.
func expectHealthy(ctx context.Context) {
	GinkgoHelper()
	c := env.Target.(*kind.Cluster)
	cfg, err := c.RESTConfig()
	Expect(err).NotTo(HaveOccurred())
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	Eventually(func(g Gomega) {
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		for _, n := range nodes.Items {
			g.Expect(kind.NodeReady(&n)).To(BeTrue(), "node %s not Ready", n.Name)
		}
		_, err = kind.Ask(ctx, c.WorkloadURL())
		g.Expect(err).NotTo(HaveOccurred())
	}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
}
