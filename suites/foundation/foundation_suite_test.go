package foundation_test

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

func TestFoundation(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Foundation")
}

// Test clusters use their own name and ports so a developer's drill
// cluster (kdrill, 30080) is left alone.
const (
	testCluster = "kdrill-test"
	testPort    = 30090
)

var cluster *kind.Cluster

var _ = BeforeSuite(func(ctx SpecContext) {
	image := os.Getenv("KDRILL_NODE_IMAGE")
	if image == "" {
		By("building the node image (cached)")
		var err error
		image, err = nodeimage.Build(ctx, nodeimage.Options{Progress: GinkgoWriter})
		Expect(err).NotTo(HaveOccurred())
	}
	if os.Getenv("KDRILL_KEEP_CLUSTER") == "" {
		// Start from a fresh cluster: one left by an earlier, interrupted
		// run may have stopped or broken nodes. Not existing is fine.
		_ = kind.Down(ctx, kind.Options{Name: testCluster, Progress: GinkgoWriter})
	}
	By("bringing up cluster " + testCluster + " from " + image)
	var err error
	cluster, err = kind.Up(ctx, kind.Options{Name: testCluster, Image: image, HostPort: testPort, Progress: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	if os.Getenv("KDRILL_KEEP_CLUSTER") == "" {
		DeferCleanup(func(ctx context.Context) {
			Expect(kind.Down(ctx, kind.Options{Name: testCluster, Progress: GinkgoWriter})).To(Succeed())
		})
	}
}, NodeTimeout(60*time.Minute))
