package drills_test

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/suites/internal/testcluster"
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
			testcluster.ExpectHealthy(ctx, env.Target.(*kind.Cluster))
		}, NodeTimeout(10*time.Minute))
	}

	It("leaves a SIGKILLed network-partition to kdrill recover, which is idempotent", func(ctx SpecContext) {
		journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
		s := start(journal, "--scenario", slo.NetworkPartition, "--mitigation-off")
		s.Kill()
		Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit())

		rec := recoverJournal(kdrill, journal, 3*time.Minute)
		Expect(rec.Out).To(gbytes.Say(`reverted 1 fault\(s\)`))
		testcluster.ExpectHealthy(ctx, env.Target.(*kind.Cluster))
		expectNothingPending(kdrill, journal)
	}, NodeTimeout(10*time.Minute))

	// Once the re-provisioning runbook has fenced the old control plane,
	// whatever stops kdrill must leave a control plane that serves.
	Context("while it re-provisions the control plane", func() {
		var oldMachine string
		BeforeEach(func(ctx SpecContext) {
			var err error
			oldMachine, err = cluster().MachineID(ctx, cluster().ControlPlane())
			Expect(err).NotTo(HaveOccurred())
		})
		partitionUntil := func(journal, step string) *gexec.Session {
			s := start(journal, "--scenario", slo.NetworkPartition, "--backup-interval", "15s")
			Eventually(s.Err).WithTimeout(4 * time.Minute).Should(gbytes.Say(step))
			return s
		}
		// expectReprovisioned checks the control plane serves from a new
		// machine, and points the suite at it (its etcd folder is new).
		expectReprovisioned := func(ctx SpecContext) {
			GinkgoHelper()
			c, err := kind.Get(ctx, kind.Options{Name: testCluster})
			Expect(err).NotTo(HaveOccurred())
			env.Target = c
			testcluster.ExpectHealthy(ctx, c)
			Expect(c.MachineID(ctx, c.ControlPlane())).NotTo(Equal(oldMachine), "the control plane was not re-provisioned")
		}

		It("finishes re-provisioning on SIGINT before it reverts the partition", func(ctx SpecContext) {
			journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
			s := partitionUntil(journal, "re-provisioning: launch a fresh control-plane machine")
			s.Signal(syscall.SIGINT)
			Eventually(s).WithTimeout(8 * time.Minute).Should(gexec.Exit())
			Expect(s.ExitCode()).NotTo(BeZero())
			Expect(s.Err).To(gbytes.Say("waiting for the runbook to finish what it began"))
			Expect(s.Err).To(gbytes.Say("interrupted: every injected fault was reverted"))
			expectNothingPending(kdrill, journal)
			expectReprovisioned(ctx)
		}, NodeTimeout(15*time.Minute))

		It("leaves a re-provisioning SIGKILLed after the launch to kdrill recover, which finishes it", func(ctx SpecContext) {
			journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
			s := partitionUntil(journal, "re-provisioning: restore etcd's data")
			s.Kill()
			Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit())

			rec := recoverJournal(kdrill, journal, 8*time.Minute)
			Expect(rec.Err).To(gbytes.Say(`reverting control-plane-fence on kind ` + testCluster))
			Expect(rec.Err).To(gbytes.Say(`reverting network-partition on kind ` + testCluster))
			Expect(rec.Out).To(gbytes.Say(`reverted 2 fault\(s\)`))
			expectNothingPending(kdrill, journal)
			expectReprovisioned(ctx)
		}, NodeTimeout(15*time.Minute))
	})

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
		rec := recoverJournal(kdrill, journal, 3*time.Minute)
		Expect(rec.Out).To(gbytes.Say(`reverted 1 fault\(s\)`))
		testcluster.ExpectHealthy(ctx, env.Target.(*kind.Cluster))
		expectNothingPending(kdrill, journal)
	}, NodeTimeout(10*time.Minute))
})

// cluster is the suite's cluster as a kind target.
func cluster() *kind.Cluster { return env.Target.(*kind.Cluster) }

// recoverJournal runs kdrill recover on journal, which must succeed within
// limit.
func recoverJournal(kdrill, journal string, limit time.Duration) *gexec.Session {
	GinkgoHelper()
	s, err := gexec.Start(exec.Command(kdrill, "recover", "--journal", journal), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(s).WithTimeout(limit).Should(gexec.Exit(0))
	return s
}

// expectNothingPending runs kdrill recover, which must find nothing to do.
func expectNothingPending(kdrill, journal string) {
	GinkgoHelper()
	Expect(recoverJournal(kdrill, journal, time.Minute).Out).To(gbytes.Say("nothing to recover"))
}
