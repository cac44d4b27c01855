package aws_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/aws"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/suites/internal/testcluster"
)

// The AWS faults must come undone like the kind ones: the real CLI is
// interrupted while the fault is in place (the mitigation off, so it
// stays), and the cluster must come back whole, its instance healthy, with
// nothing left in the journal; after a SIGKILL, 'kdrill recover --config'
// must finish the job.
var _ = Describe("interrupting kdrill run on AWS", Label("kind", "aws", "disruptive", "interrupt"), Ordered, func() {
	var cfg string

	BeforeAll(func(ctx SpecContext) {
		cfg = writeConfig(GinkgoT().TempDir(), "[vm-shutdown]")

		// An alarm left by another spec would reboot the crashed instance
		// itself, and the revert would have nothing to do.
		id, err := provider.InstanceID(ctx, controlPlane(ctx))
		Expect(err).NotTo(HaveOccurred())
		cw := cloudwatch.New(cloudwatch.Options{
			Region: region, BaseEndpoint: awssdk.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDKDRILLSUITE", "kdrill-suite-secret", ""),
		})
		_, err = cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{aws.StatusCheckAlarmName(id)}})
		var notFound *cwtypes.ResourceNotFound // as AWS answers for an alarm that is not there
		if !errors.As(err, &notFound) {
			Expect(err).NotTo(HaveOccurred())
		}
	}, NodeTimeout(3*time.Minute))

	start := func(journal, scenario string) *gexec.Session {
		s, err := gexec.Start(exec.Command(kdrill, "run", "--config", cfg, "--yes", "--scenario", scenario, "--mitigation-off",
			"--journal", journal, "--out", GinkgoT().TempDir(), "--progress", "off"), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		// The fault is in place once the drill waits for recovery.
		Eventually(s.Err).WithTimeout(4 * time.Minute).Should(gbytes.Say("waiting for recovery"))
		return s
	}
	recoverAll := func(journal string) *gexec.Session {
		rec, err := gexec.Start(exec.Command(kdrill, "recover", "--journal", journal, "--config", cfg), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(rec).WithTimeout(4 * time.Minute).Should(gexec.Exit(0))
		return rec
	}
	// killAndRecover SIGKILLs a run of scenario once its fault is in, and
	// leaves it to recover, which must revert it for good.
	killAndRecover := func(ctx context.Context, journal, scenario string) {
		GinkgoHelper()
		s := start(journal, scenario)
		s.Kill()
		Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit())
		Expect(recoverAll(journal).Out).To(gbytes.Say(`reverted 1 fault\(s\)`))
		testcluster.ExpectHealthy(ctx, cluster)
		Expect(recoverAll(journal).Out).To(gbytes.Say("nothing to recover"))
	}

	It("reboots the crashed control-plane instance on SIGINT and exits non-zero", func(ctx SpecContext) {
		journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
		s := start(journal, slo.VMShutdown)
		cp := controlPlane(ctx)
		Eventually(func() (bool, error) { return provider.NodeImpaired(ctx, cp) }).
			WithContext(ctx).WithTimeout(time.Minute).WithPolling(time.Second).Should(BeTrue(), "the crash shows as a failed status check")
		s.Signal(syscall.SIGINT)
		Eventually(s).WithTimeout(4 * time.Minute).Should(gexec.Exit())
		Expect(s.ExitCode()).NotTo(BeZero())
		Expect(s.Err).To(gbytes.Say("interrupted: every injected fault was reverted"))
		Expect(recoverAll(journal).Out).To(gbytes.Say("nothing to recover"))
		Expect(provider.NodeImpaired(ctx, cp)).To(BeFalse())
		testcluster.ExpectHealthy(ctx, cluster)
	}, NodeTimeout(10*time.Minute))

	It("leaves a SIGKILLed etcd-data-loss to kdrill recover, which restores from S3", func(ctx SpecContext) {
		killAndRecover(ctx, filepath.Join(GinkgoT().TempDir(), "journal.jsonl"), slo.EtcdDataLoss)
	}, NodeTimeout(10*time.Minute))

	It("leaves a SIGKILLed network-partition to kdrill recover, which deletes its ACL entries", func(ctx SpecContext) {
		nodes, err := provider.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		journal := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
		if harness.ByRole(nodes, harness.RoleControlPlane)[0].Zone == harness.ByRole(nodes, harness.RoleWorker)[0].Zone {
			// The partition drill ran first (specs run in random order): its
			// re-provisioned control plane shares the workers' subnet, where
			// no ACL cuts. The run must then refuse before injecting.
			s, err := gexec.Start(exec.Command(kdrill, "run", "--config", cfg, "--yes", "--scenario", slo.NetworkPartition,
				"--journal", journal, "--out", GinkgoT().TempDir(), "--progress", "off"), GinkgoWriter, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			Eventually(s).WithTimeout(4 * time.Minute).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say("is in the control plane's subnet"))
			Expect(recoverAll(journal).Out).To(gbytes.Say("nothing to recover"))
			return
		}
		killAndRecover(ctx, journal, slo.NetworkPartition)
	}, NodeTimeout(10*time.Minute))
})

func controlPlane(ctx context.Context) string {
	GinkgoHelper()
	nodes, err := provider.Nodes(ctx)
	Expect(err).NotTo(HaveOccurred())
	return harness.ByRole(nodes, harness.RoleControlPlane)[0].Name
}
