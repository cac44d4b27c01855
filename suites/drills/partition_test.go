package drills_test

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/suites/internal/testcluster"
)

// The partition fault on its own, before the network-partition drill and
// its re-provisioning mitigation exist: what the seed says holds while the
// zones are cut apart, and that the revert removes every rule it added.
var _ = Describe("the network-partition fault", Label("kind", "disruptive", "network-partition"), func() {
	It("cuts the control plane off from the workers while the host keeps reaching the workload, and reverts exactly", func(ctx SpecContext) {
		c := env.Target.(*kind.Cluster)
		cfg, err := c.RESTConfig()
		Expect(err).NotTo(HaveOccurred())
		cfg.Timeout = 5 * time.Second
		cs, err := kubernetes.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		nodes, err := c.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		cp := harness.ByRole(nodes, harness.RoleControlPlane)[0]
		workers := harness.ByRole(nodes, harness.RoleWorker)
		podCIDRs := map[string]string{}
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		for _, n := range list.Items {
			podCIDRs[n.Name] = n.Spec.PodCIDR
		}
		tagged := func(node string) int {
			out, err := c.Exec(ctx, node, "sh", "-c", "iptables -w -S; ip6tables -w -S")
			Expect(err).NotTo(HaveOccurred())
			return strings.Count(string(out), "kdrill-network-partition")
		}
		for _, n := range nodes {
			Expect(tagged(n.Name)).To(BeZero(), "rules on %s before the fault", n.Name)
		}

		revert, err := faults.Inject(ctx, env.Journal, env.Ref, c, &faults.Partition{PodCIDRs: podCIDRs}, nil)
		Expect(err).NotTo(HaveOccurred())
		reverted := false
		DeferCleanup(func(ctx context.Context) error {
			if reverted {
				return nil
			}
			return revert(ctx)
		})

		By("the workers no longer reach the API server, nor it their kubelets")
		for _, w := range workers {
			_, err := c.Exec(ctx, w.Name, "curl", "-sk", "--max-time", "3", "https://"+cp.Address+":6443/livez")
			Expect(err).To(HaveOccurred(), "%s still reaches the API server", w.Name)
			_, err = c.Exec(ctx, cp.Name, "curl", "-sk", "--max-time", "3", "https://"+w.Address+":10250/healthz")
			Expect(err).To(HaveOccurred(), "the control plane still reaches %s's kubelet", w.Name)
		}

		By("the control plane sees the workers go NotReady while the workload keeps answering on both loopback ports")
		Eventually(func(g Gomega) {
			for _, u := range c.WorkloadURLs {
				_, err := kind.Ask(ctx, u)
				Expect(err).NotTo(HaveOccurred(), "the workload stopped answering on %s", u)
			}
			for _, w := range workers {
				n, err := cs.CoreV1().Nodes().Get(ctx, w.Name, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(readyStatus(n)).NotTo(Equal(corev1.ConditionTrue), "%s still Ready", w.Name)
			}
		}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())

		By("reverting removes every rule the fault added, and the workers come back")
		reverted = true
		Expect(revert(ctx)).To(Succeed())
		for _, n := range nodes {
			Expect(tagged(n.Name)).To(BeZero(), "rules left on %s", n.Name)
		}
		pending, err := env.Journal.Pending()
		Expect(err).NotTo(HaveOccurred())
		Expect(pending).To(BeEmpty())
		Eventually(func(g Gomega) {
			for _, w := range workers {
				n, err := cs.CoreV1().Nodes().Get(ctx, w.Name, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(readyStatus(n)).To(Equal(corev1.ConditionTrue), "%s not Ready again", w.Name)
			}
		}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		testcluster.ExpectHealthy(ctx, env.Target.(*kind.Cluster))
	}, NodeTimeout(10*time.Minute))
})

func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}
