package kubeprobe

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdrill/kdrill/harness/probe"
)

// Defaults of the read prober.
const (
	DefaultReadInterval = time.Second
	DefaultReadTimeout  = 2 * time.Second
)

// ReadOptions configures NewRead. The zero value means defaults.
type ReadOptions struct {
	Name     string        // default probe.APIRead
	Interval time.Duration // default DefaultReadInterval
	Timeout  time.Duration // default DefaultReadTimeout
	// Namespace is the object the cheap GET reads; default "kube-system".
	Namespace string
}

// ReadProber checks that the API server answers a client's read from its
// storage: a GET of one namespace, which without a resourceVersion is a
// quorum read from etcd. It does not ask /readyz: a restarted API server
// serves clients about a second before its last post-start hook reports
// ready, and an RTO measured to /readyz would overstate the outage clients
// saw.
type ReadProber struct {
	client kubernetes.Interface
	o      ReadOptions
}

// NewRead returns a read prober using client.
func NewRead(client kubernetes.Interface, o ReadOptions) (*ReadProber, error) {
	if o.Name == "" {
		o.Name = probe.APIRead
	}
	if o.Interval == 0 {
		o.Interval = DefaultReadInterval
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultReadTimeout
	}
	if o.Namespace == "" {
		o.Namespace = "kube-system"
	}
	if o.Interval < 0 || o.Timeout < 0 {
		return nil, fmt.Errorf("read prober: negative interval or timeout")
	}
	return &ReadProber{client: client, o: o}, nil
}

// Name implements probe.Prober.
func (p *ReadProber) Name() string { return p.o.Name }

// Schedule implements probe.Prober.
func (p *ReadProber) Schedule() probe.Schedule {
	return probe.Schedule{Interval: p.o.Interval, Timeout: p.o.Timeout}
}

// Probe implements probe.Prober.
func (p *ReadProber) Probe(ctx context.Context) probe.Result {
	ns, err := p.client.CoreV1().Namespaces().Get(ctx, p.o.Namespace, metav1.GetOptions{})
	if err != nil {
		return probe.Result{Detail: fmt.Sprintf("get namespace %s: %v", p.o.Namespace, err)}
	}
	return probe.Result{OK: true, Attrs: map[string]string{"resource_version": ns.ResourceVersion}}
}
