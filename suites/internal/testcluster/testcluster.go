// Package testcluster brings up the kind cluster a Ginkgo suite runs on,
// the same way for every suite: from $KDRILL_NODE_IMAGE (or a cached image
// build), fresh unless $KDRILL_KEEP_CLUSTER is set, and deleted after the
// suite. Each suite has its own name and loopback port so that suites, and
// a developer's kdrill cluster, never share one.
package testcluster

import (
	"context"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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

// ExpectHealthy waits up to 3 minutes for c to be whole again after a
// fault: the API ready, every node Ready, the workload answering.
func ExpectHealthy(ctx context.Context, c *kind.Cluster) {
	GinkgoHelper()
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
