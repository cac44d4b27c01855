package foundation_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/kind"
)

// Node images other than kdrill's own (kindest/node) do not carry the echo
// workload's image; cluster up must load it, as there is no registry.
var _ = Describe("a node without the workload's image", Label("kind"), func() {
	It("gets it loaded by cluster up", func(ctx SpecContext) {
		node := cluster.Name + "-worker"
		_, err := cluster.Exec(ctx, node, "ctr", "-n", "k8s.io", "images", "rm", "docker.io/kdrill/echo:v1")
		Expect(err).NotTo(HaveOccurred())
		c, err := kind.Up(ctx, kind.Options{Name: cluster.Name, HostPort: testPort, Progress: GinkgoWriter})
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Reused).To(BeTrue())
		out, err := cluster.Exec(ctx, node, "ctr", "-n", "k8s.io", "images", "ls", "-q", "name==docker.io/kdrill/echo:v1")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(string(out))).To(Equal("docker.io/kdrill/echo:v1"))
		_, err = kind.Ask(ctx, c.WorkloadURL())
		Expect(err).NotTo(HaveOccurred())
	})
})
