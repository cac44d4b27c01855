package kind

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

//go:embed assets/workload.yaml
var workloadManifest []byte

// Workload names, as in assets/workload.yaml.
const (
	WorkloadNamespace  = "kdrill"
	WorkloadDeployment = "kdrill-echo"
)

// readyTimeout bounds the wait for nodes, the workload rollout and answers.
const readyTimeout = 4 * time.Minute

// RESTConfig loads the cluster's kubeconfig.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", c.Kubeconfig, err)
	}
	return cfg, nil
}

// ready waits for every node to be Ready, applies the workload and waits
// until it answers from the host.
func ready(ctx context.Context, o Options, c *Cluster) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Progress, "waiting for every node to be Ready")
	if err := poll(ctx, time.Second, func() error { return nodesReady(ctx, cs) }); err != nil {
		return fmt.Errorf("wait for nodes Ready: %w", err)
	}
	if err := ensureEchoImage(ctx, o, c); err != nil {
		return fmt.Errorf("load the echo workload's image: %w", err)
	}
	fmt.Fprintln(o.Progress, "deploying the echo workload")
	if err := apply(ctx, cfg, workloadManifest); err != nil {
		return fmt.Errorf("deploy workload: %w", err)
	}
	fmt.Fprintf(o.Progress, "waiting for the workload to answer on %s\n", c.WorkloadURL())
	if err := poll(ctx, time.Second, func() error { return deploymentReady(ctx, cs) }); err != nil {
		return fmt.Errorf("wait for workload rollout: %w", err)
	}
	for _, u := range c.WorkloadURLs {
		if err := poll(ctx, 500*time.Millisecond, func() error { _, err := Ask(ctx, u); return err }); err != nil {
			return fmt.Errorf("workload does not answer on %s: %w", u, err)
		}
	}
	return nil
}

// poll calls check every interval until it succeeds or ctx ends; the error
// then is check's last one.
func poll(ctx context.Context, interval time.Duration, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(interval):
		}
	}
}

func nodesReady(ctx context.Context, cs kubernetes.Interface) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(nodes.Items) < 3 {
		return fmt.Errorf("%d of 3 nodes registered", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		if !NodeReady(&n) {
			return fmt.Errorf("node %s not Ready", n.Name)
		}
	}
	return nil
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deploymentReady(ctx context.Context, cs kubernetes.Interface) error {
	d, err := cs.AppsV1().Deployments(WorkloadNamespace).Get(ctx, WorkloadDeployment, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < want || d.Status.AvailableReplicas < want {
		return fmt.Errorf("%d of %d replicas available", d.Status.AvailableReplicas, want)
	}
	return nil
}

// Answer is what the echo workload says about the pod that served a request.
type Answer struct {
	Pod  string `json:"pod"`
	Node string `json:"node"`
	Zone string `json:"zone"`
}

// Ask sends one GET to the workload and decodes its answer.
func Ask(ctx context.Context, url string) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Answer{}, err
	}
	req.Close = true // a new connection each time, so kube-proxy spreads requests
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Answer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Answer{}, fmt.Errorf("status %s", resp.Status)
	}
	var a Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return Answer{}, fmt.Errorf("decode answer %q: %w", body, err)
	}
	return a, nil
}

// apply creates or updates every object of a multi-document manifest with
// server-side apply.
func apply(ctx context.Context, cfg *rest.Config, manifest []byte) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("decode manifest: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("map %s: %w", gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
		}
		data, err := json.Marshal(obj.Object)
		if err != nil {
			return err
		}
		if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "kdrill", Force: ptr(true)}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("apply %s %s: namespace missing: %w", gvk.Kind, obj.GetName(), err)
			}
			return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// echoRef is the workload image as the nodes' containerd names it.
const echoRef = "docker.io/" + nodeimage.EchoImage

// ensureEchoImage loads the echo image into every node that lacks it: kdrill's
// own node images carry it, others (kindest/node) do not, and there is no
// registry to pull it from.
func ensureEchoImage(ctx context.Context, o Options, c *Cluster) error {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, n := range nodes {
		out, err := c.Exec(ctx, n.Name, "ctr", "-n", "k8s.io", "images", "ls", "-q", "name=="+echoRef)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(out)) == "" {
			missing = append(missing, n.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(o.Progress, "loading %s into %s\n", nodeimage.EchoImage, strings.Join(missing, ", "))
	if _, err := nodeimage.BuildEchoImage(ctx, nodeimage.Options{Progress: o.Progress}); err != nil {
		return err
	}
	for _, n := range missing {
		script := fmt.Sprintf("set -o pipefail; docker save %s | docker exec -i %s ctr -n k8s.io images import --all-platforms -", nodeimage.EchoImage, n)
		if out, err := exec.CommandContext(ctx, "bash", "-c", script).CombinedOutput(); err != nil {
			return fmt.Errorf("import into %s: %w: %s", n, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
