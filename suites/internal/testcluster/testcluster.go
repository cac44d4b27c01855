// Package testcluster brings up the kind cluster a Ginkgo suite runs on,
// the same way for every suite: from $KDRILL_NODE_IMAGE (or a cached image
// build), fresh unless $KDRILL_KEEP_CLUSTER is set, and deleted after the
// suite. Each suite has its own name and loopback port so that suites, and
// a developer's kdrill cluster, never share one.
package testcluster

import (
	"context"
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

// Up brings up the cluster name with its workload on port; call it from a
// BeforeSuite. The cleanup it registers deletes the cluster.
func Up(ctx context.Context, name string, port int) *kind.Cluster {
	GinkgoHelper()
	image := os.Getenv("KDRILL_NODE_IMAGE")
	if image == "" {
		By("building the node image (cached)")
		var err error
		image, err = nodeimage.Build(ctx, nodeimage.Options{Progress: GinkgoWriter})
		Expect(err).NotTo(HaveOccurred())
	}
	keep := os.Getenv("KDRILL_KEEP_CLUSTER") != ""
	if !keep {
		// Start from a fresh cluster: one left by an earlier, interrupted
		// run may have stopped or broken nodes. Not existing is fine.
		_ = kind.Down(ctx, kind.Options{Name: name, Progress: GinkgoWriter})
	}
	By("bringing up cluster " + name + " from " + image)
	c, err := kind.Up(ctx, kind.Options{Name: name, Image: image, HostPort: port, Progress: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	if !keep {
		DeferCleanup(func(ctx context.Context) {
			Expect(kind.Down(ctx, kind.Options{Name: name, Progress: GinkgoWriter})).To(Succeed())
		})
	}
	return c
}
