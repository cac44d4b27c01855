package foundation_test

import (
	"net"
	"os"
	"os/exec"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/kdrill/kdrill/harness/kind"
)

// These run the real CLI against the real Docker engine: each bad input
// gets one line naming the cause and the fix, exit code 2, and leaves no
// cluster behind.
var _ = Describe("kdrill's refusals", Label("kind"), func() {
	var kdrill string

	BeforeEach(func() {
		var err error
		kdrill, err = gexec.Build("github.com/kdrill/kdrill/cmd/kdrill")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})

	run := func(args ...string) *gexec.Session {
		s, err := gexec.Start(exec.Command(kdrill, args...), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(s).WithTimeout(2 * 60e9).Should(gexec.Exit())
		return s
	}

	It("refuses to delete a cluster that does not exist", func() {
		s := run("cluster", "down", "--name", "kdrill-no-such-cluster")
		Expect(s).To(gexec.Exit(2))
		Expect(s.Err).To(gbytes.Say(`kdrill: no kind cluster named "kdrill-no-such-cluster" exists`))
	})

	It("refuses to delete a cluster kdrill did not create, unless forced", func() {
		// The suite's cluster, made to look hand-made: its marker moved away.
		marker := kind.MarkerPath(kind.Options{Name: testCluster})
		Expect(os.Rename(marker, marker+".away")).To(Succeed())
		DeferCleanup(func() { Expect(os.Rename(marker+".away", marker)).To(Succeed()) })
		s := run("cluster", "down", "--name", testCluster)
		Expect(s).To(gexec.Exit(2))
		Expect(s.Err).To(gbytes.Say(`refusing to delete kind cluster "%s": kdrill did not create it`, testCluster))
		exists, err := kind.Exists(testCluster)
		Expect(err).NotTo(HaveOccurred())
		Expect(exists).To(BeTrue(), "the cluster must still be there")
	})

	It("refuses a loopback port that is already taken, creating nothing", func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		s := run("cluster", "up", "--name", "kdrill-port-taken", "--image", "kdrill/node:any", "--port", strconv.Itoa(port))
		Expect(s).To(gexec.Exit(2))
		Expect(s.Err).To(gbytes.Say(`loopback port %d is already in use`, port))
		out, err := exec.Command("docker", "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster=kdrill-port-taken", "-q").Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(BeEmpty(), "no node container may be left behind")
	})

	It("refuses a Kubernetes version the module proxy does not serve", func() {
		s := run("image", "build", "--kubernetes-version", "v1.99.0")
		Expect(s).To(gexec.Exit(2))
		Expect(s.Err).To(gbytes.Say(`Kubernetes v1.99.0 is not available from the Go module proxy`))
	})
})
