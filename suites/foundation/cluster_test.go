package foundation_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

var _ = Describe("the local drill cluster", Label("kind"), func() {
	var cs kubernetes.Interface

	BeforeEach(func() {
		cfg, err := cluster.RESTConfig()
		Expect(err).NotTo(HaveOccurred())
		cs, err = kubernetes.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
	})

	It("has every node Ready, the control plane in zone-a and two workers in zone-b", func(ctx SpecContext) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		zones := map[string][]string{}
		for _, n := range nodes.Items {
			Expect(kind.NodeReady(&n)).To(BeTrue(), "node %s is not Ready", n.Name)
			zones[n.Labels[kind.ZoneLabel]] = append(zones[n.Labels[kind.ZoneLabel]], n.Name)
		}
		Expect(zones[kind.ControlPlaneZone]).To(ConsistOf(HaveSuffix("-control-plane")))
		Expect(zones[kind.WorkerZone]).To(HaveLen(2))
	})

	It("runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler as static pods", func(ctx SpecContext) {
		cp := cluster.Name + "-control-plane"
		for _, c := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
			pod, err := cs.CoreV1().Pods("kube-system").Get(ctx, c+"-"+cp, metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred(), "static pod %s", c)
			Expect(pod.Status.Phase).To(Equal(corev1.PodRunning), "static pod %s", c)
			Expect(pod.Annotations).To(HaveKey("kubernetes.io/config.source"))
			Expect(pod.Annotations["kubernetes.io/config.source"]).To(Equal("file"), "%s comes from a manifest file", c)
		}
	})

	It("keeps etcd's data on the host folder", func() {
		Expect(cluster.EtcdDir + "/member").To(BeADirectory())
	})

	It("resolves a Service name through CoreDNS", func(ctx SpecContext) {
		svc, err := cs.CoreV1().Services(kind.WorkloadNamespace).Get(ctx, kind.WorkloadDeployment, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		name := fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "dns-check-", Namespace: kind.WorkloadNamespace},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name:            "resolve",
					Image:           nodeimage.EchoImage,
					ImagePullPolicy: corev1.PullNever,
					Args:            []string{"-resolve", name},
				}},
			},
		}
		pod, err = cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx context.Context) error {
			return cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
		})
		Eventually(func(g Gomega) corev1.PodPhase {
			p, err := cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			return p.Status.Phase
		}).WithContext(ctx).WithTimeout(90 * time.Second).Should(Equal(corev1.PodSucceeded))
		logs, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(string(logs))).To(ContainElement(svc.Spec.ClusterIP))
	})

	It("serves the workload on the loopback port from pods on both workers", func(ctx SpecContext) {
		seen := map[string]bool{}
		Eventually(func(g Gomega) map[string]bool {
			a, err := kind.Ask(ctx, cluster.WorkloadURL())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(a.Zone).To(Equal(kind.WorkerZone))
			seen[a.Node] = true
			return seen
		}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(50 * time.Millisecond).Should(And(
			HaveKey(cluster.Name+"-worker"), HaveKey(cluster.Name+"-worker2")))
	})
})
