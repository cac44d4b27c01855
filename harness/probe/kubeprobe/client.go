package kubeprobe

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// DefaultNamespace is where the write and scheduling probers create objects.
const DefaultNamespace = "kdrill"

// Labels the probers put on what they create.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelRun       = "kdrill.io/run"   // the drill run that created it
	LabelProbe     = "kdrill.io/probe" // the prober that created it
	LabelSeq       = "kdrill.io/seq"   // the write prober's sequence number
)

// NewClient returns a clientset for probing: it has no client-side rate
// limit, since probers must measure the API server rather than the client's
// throttling, and identifies itself as kdrill.
func NewClient(cfg *rest.Config) (kubernetes.Interface, error) {
	c := rest.CopyConfig(cfg)
	c.QPS = -1 // negative turns client-go's rate limiter off
	c.RateLimiter = nil
	c.UserAgent = "kdrill-probe"
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("make probe client: %w", err)
	}
	return cs, nil
}

// EnsureNamespace creates namespace ns unless it exists.
func EnsureNamespace(ctx context.Context, c kubernetes.Interface, ns string) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{LabelManagedBy: "kdrill"}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}

// validLabelValue reports whether s can be a label value; run ids become
// label values.
func validLabelValue(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	alnum := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}
