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

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

// The same drill through the CLI: a kdrill.yaml naming the AWS target (the
// stand-in's endpoint, the tags, the kubeconfig and workload of the kind
// cluster behind it), allow-listed, confirmed with --yes.
var _ = Describe("kdrill run on AWS", Label("kind", "aws", "disruptive", slo.VMShutdown), Ordered, func() {
	It("drills vm-shutdown from a config and writes the results", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		cfg := writeConfig(dir, "[vm-shutdown]")

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

// writeConfig writes a kdrill.yaml into dir naming the AWS target (the
// stand-in's endpoint, the tags, the kubeconfig and workload of the kind
// cluster behind it), allow-listed, and the scenarios given as a YAML list.
func writeConfig(dir, scenarios string) string {
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
    backup_bucket: %s
    backup_prefix: etcd/
allow:
  - aws:%s
scenarios: %s
`, testCluster, cluster.KubeconfigPath(), cluster.WorkloadURL(), accountID, region, endpoint, testCluster, backupBucket, accountID, scenarios)), 0o600)).To(Succeed())
	return cfg
}

// A dry run needs no --yes: it prints the calls the drills would make, in
// their order, and the stand-in sees reads only.
var _ = Describe("kdrill run --dry-run on AWS", Label("kind", "aws"), Ordered, func() {
	dryRun := func(dir, scenarios string, code int) (stdout, stderr string, ops []string) {
		cfg := writeConfig(dir, scenarios)
		n := calls.len()
		s, err := gexec.Start(exec.Command(kdrill, "run", "--dry-run", "--config", cfg,
			"--journal", filepath.Join(dir, "journal.jsonl"), "--out", filepath.Join(dir, "out")), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(s).WithTimeout(3 * time.Minute).Should(gexec.Exit(code))
		Expect(filepath.Join(dir, "journal.jsonl")).NotTo(BeAnExistingFile(), "a dry run journals nothing")
		return string(s.Out.Contents()), string(s.Err.Contents()), calls.since(n)
	}

	It("prints each change the drills would make, in order, and makes none", func(ctx SpecContext) {
		// etcd-data-loss refuses to go on without a backup in the bucket,
		// and the dry run's own backup is held back: take a real one.
		nodes, err := provider.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		cp := harness.ByRole(nodes, harness.RoleControlPlane)[0]
		_, err = provider.BackupEtcd(ctx, cp.Name)
		Expect(err).NotTo(HaveOccurred())
		id, err := provider.InstanceID(ctx, cp.Name)
		Expect(err).NotTo(HaveOccurred())

		out, _, ops := dryRun(GinkgoT().TempDir(), "[vm-shutdown, apiserver-crash, etcd-data-loss]", 0)
		GinkgoWriter.Print(out)

		Expect(ops).To(ContainElement("query:DescribeInstances"), "the plan is made against the instances there")
		for _, op := range ops {
			Expect(changes(op)).To(BeFalse(), "the stand-in was sent %s", op)
		}
		Expect(out).To(ContainSubstring(`aws cloudwatch PutMetricAlarm {"ActionsEnabled":true,"AlarmActions":["arn:aws:automate:` + region + `:ec2:reboot"]`))
		Expect(out).To(ContainSubstring("# 3. inject vm-crash: crash the control-plane instance " + cp.Name))
		Expect(out).To(ContainSubstring(`aws ec2 SendDiagnosticInterrupt {"InstanceId":"` + id + `"}`))
		Expect(out).To(MatchRegexp(`aws ssm SendCommand .*pkill -KILL -x kube-apiserver`))
		Expect(out).To(MatchRegexp(`aws ssm SendCommand .*etcdctl .*snapshot save`))
		Expect(out).To(MatchRegexp(`aws ssm SendCommand .*/dev/urandom`))
		Expect(out).To(ContainSubstring("X-Amz-Signature=REDACTED"), "a presigned URL's signature is left out")
		Expect(out).NotTo(MatchRegexp(`X-Amz-Signature=[0-9a-f]{64}`))
		// The scenarios in order, each call under its step.
		Expect(strings.Index(out, "=== vm-shutdown")).To(BeNumerically("<", strings.Index(out, "PutMetricAlarm")))
		Expect(strings.Index(out, "PutMetricAlarm")).To(BeNumerically("<", strings.Index(out, "SendDiagnosticInterrupt")))
		Expect(strings.Index(out, "=== apiserver-crash")).To(BeNumerically("<", strings.Index(out, "kube-apiserver")))
		Expect(strings.Index(out, "snapshot save")).To(BeNumerically("<", strings.Index(out, "/dev/urandom")))
		Expect(out).To(MatchRegexp(`dry run: [0-9]+ AWS call\(s\) printed, none made`))
	}, NodeTimeout(5*time.Minute))

	It("plans the partition with network ACL entries and a backup of the control plane, or says why it cannot", func(ctx SpecContext) {
		// Once the partition drill has re-provisioned the control plane
		// into the workers' subnet (specs run in random order), no ACL
		// can cut it off from them, and the plan must say so.
		nodes, err := provider.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		apart := harness.ByRole(nodes, harness.RoleControlPlane)[0].Zone != harness.ByRole(nodes, harness.RoleWorker)[0].Zone
		code := 1
		if apart {
			code = 0
		}
		out, _, ops := dryRun(GinkgoT().TempDir(), "[network-partition]", code)
		for _, op := range ops {
			Expect(changes(op)).To(BeFalse(), "the stand-in was sent %s", op)
		}
		Expect(out).To(MatchRegexp(`# 2. back up the control plane's certificates and configuration\naws ssm SendCommand .*tar -czf`))
		if apart {
			Expect(out).To(MatchRegexp(`aws ec2 CreateNetworkAclEntry {"CidrBlock":"[0-9./]+","Egress":(true|false),"NetworkAclId":"acl-[0-9a-f]+","Protocol":"-1","RuleAction":"deny","RuleNumber":[0-9]+}`))
		} else {
			Expect(out).To(MatchRegexp(`! plan network-partition-nacl \(reads only\): worker .* is in the control plane's subnet`))
			Expect(out).NotTo(ContainSubstring("CreateNetworkAclEntry"))
		}
	}, NodeTimeout(5*time.Minute))

	It("refuses tags that select no instance, with one line and exit 2", func(_ SpecContext) {
		dir := GinkgoT().TempDir()
		cfg := writeConfig(dir, "[vm-shutdown]")
		data, err := os.ReadFile(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(cfg, []byte(strings.ReplaceAll(string(data), "kdrill/cluster: "+testCluster, "kdrill/cluster: no-such-cluster")), 0o600)).To(Succeed())
		s, err := gexec.Start(exec.Command(kdrill, "run", "--dry-run", "--config", cfg, "--journal", filepath.Join(dir, "journal.jsonl")), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(s).WithTimeout(time.Minute).Should(gexec.Exit(2))
		Expect(strings.Count(string(s.Err.Contents()), "kdrill: ")).To(Equal(1))
		Expect(string(s.Err.Contents())).To(ContainSubstring("kdrill/cluster=no-such-cluster"))
		Expect(s.Out.Contents()).To(BeEmpty())
	}, NodeTimeout(2*time.Minute))
})
