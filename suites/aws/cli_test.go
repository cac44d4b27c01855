package aws_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

// The same drill through the CLI: a kdrill.yaml naming the AWS target (the
// stand-in's endpoint, the tags, the kubeconfig and workload of the kind
// cluster behind it), allow-listed, confirmed with --yes.
var _ = Describe("kdrill run on AWS", Label("kind", "aws", "disruptive", slo.VMShutdown), Ordered, func() {
	var kdrill string
	BeforeAll(func() {
		var err error
		kdrill, err = gexec.Build("github.com/kdrill/kdrill/cmd/kdrill")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})

	It("drills vm-shutdown from a config and writes the results", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		cfg := filepath.Join(dir, "kdrill.yaml")
		Expect(os.WriteFile(cfg, []byte(fmt.Sprintf(`target:
  provider: aws
  name: %s
  kubeconfig: %s
  workload_url: %s
  aws:
    account_id: "%s"
    region: %s
    endpoint: %s
    tags:
      kdrill/cluster: %s
allow:
  - aws:%s
scenarios: [vm-shutdown]
`, testCluster, cluster.KubeconfigPath(), cluster.WorkloadURL(), accountID, region, endpoint, testCluster, accountID)), 0o600)).To(Succeed())

		out := filepath.Join(dir, "out")
		s, err := gexec.Start(exec.Command(kdrill, "run", "--config", cfg, "--yes", "--journal", filepath.Join(dir, "journal.jsonl"), "--out", out, "--progress", "plain"), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(s).WithTimeout(8 * time.Minute).Should(gexec.Exit(0))

		data, err := os.ReadFile(filepath.Join(out, "results.json"))
		Expect(err).NotTo(HaveOccurred())
		var f results.File
		Expect(json.Unmarshal(data, &f)).To(Succeed())
		Expect(f.Run.Provider).To(Equal("aws"))
		Expect(f.Scenarios).To(HaveLen(1))
		Expect(f.Scenarios[0].Verdict).To(Equal(slo.Pass), f.Scenarios[0].Reason)
		Expect(f.Scenarios[0].Checks).To(ContainElement(HaveField("Detail", ContainSubstring("status-check alarm"))))

		By("refusing credentials for another account than the config names")
		other := filepath.Join(dir, "other.yaml")
		data, err = os.ReadFile(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(other, []byte(strings.ReplaceAll(string(data), accountID, "000000000099")), 0o600)).To(Succeed())
		ref, err := gexec.Start(exec.Command(kdrill, "run", "--config", other, "--yes", "--journal", filepath.Join(dir, "other.jsonl"), "--out", filepath.Join(dir, "other")), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(ref).WithTimeout(time.Minute).Should(gexec.Exit(2))
		Expect(string(ref.Err.Contents())).To(ContainSubstring("refusing to act on AWS account " + accountID + ": the config names 000000000099"))

		By("finding nothing to recover")
		rec, err := gexec.Start(exec.Command(kdrill, "recover", "--journal", filepath.Join(dir, "journal.jsonl"), "--config", cfg), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(rec).WithTimeout(time.Minute).Should(gexec.Exit(0))
	}, NodeTimeout(10*time.Minute))
})
