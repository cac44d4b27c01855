package kubeprobe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdrill/kdrill/harness/internal/leaktest"
	"github.com/kdrill/kdrill/harness/probe"
)

// The scheduling prober watches pods, which an httptest server would have to
// stream; client-go's fake clientset does that, and a goroutine plays the
// scheduler and kubelet.

// kubelet moves every new pod in ns to phase on node after delay, until ctx
// ends.
func kubelet(ctx context.Context, t *testing.T, c *fake.Clientset, ns string, phase corev1.PodPhase, delay time.Duration) <-chan struct{} {
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				pod, _ := ev.Object.(*corev1.Pod)
				if ev.Type != watch.Added || pod == nil {
					continue
				}
				time.Sleep(delay)
				pod = pod.DeepCopy()
				pod.Spec.NodeName = "kdrill-worker"
				pod.Status.Phase = phase
				if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
					t.Errorf("update status: %v", err)
				}
			}
		}
	}()
	return done
}

// deleteCollection teaches the fake clientset DeleteCollection of pods by
// label selector.
func deleteCollection(c *fake.Clientset) {
	c.PrependReactor("delete-collection", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		dc := a.(k8stesting.DeleteCollectionAction)
		sel := dc.GetListRestrictions().Labels
		list, err := c.Tracker().List(corev1.SchemeGroupVersion.WithResource("pods"), corev1.SchemeGroupVersion.WithKind("Pod"), dc.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, p := range list.(*corev1.PodList).Items {
			if sel.Matches(labels.Set(p.Labels)) {
				_ = c.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), p.Namespace, p.Name)
			}
		}
		return true, nil, nil
	})
}

func TestSchedulingProbe(t *testing.T) {
	leaktest.Check(t)
	tests := []struct {
		name      string
		phase     corev1.PodPhase // what the kubelet does; "" for nothing
		createErr error
		wantOK    bool
		wantErr   string
	}{
		{name: "pod runs", phase: corev1.PodRunning, wantOK: true, wantErr: "running after"},
		{name: "pod never runs", wantErr: "not running before the timeout (phase unknown)"},
		{name: "pod fails", phase: corev1.PodFailed, wantErr: "ended in phase Failed"},
		{name: "API refuses", createErr: errors.New("connection refused"), wantErr: "create pod: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientset()
			if tt.createErr != nil {
				c.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tt.createErr
				})
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tt.phase != "" {
				done := kubelet(ctx, t, c, DefaultNamespace, tt.phase, 20*time.Millisecond)
				defer func() { <-done }()
			}
			defer cancel()
			p, err := NewScheduling(c, SchedulingOptions{Run: "run1", Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			actx, acancel := context.WithTimeout(ctx, p.Schedule().Timeout)
			defer acancel()
			res := p.Probe(actx)
			if res.OK != tt.wantOK || !strings.Contains(res.Detail, tt.wantErr) {
				t.Fatalf("Probe() = %+v, want ok=%v and detail containing %q", res, tt.wantOK, tt.wantErr)
			}
			if tt.wantOK && (res.Attrs["node"] != "kdrill-worker" || res.Attrs["running_seconds"] == "" || res.Attrs["pod"] != "kdrill-s-run1-1") {
				t.Errorf("attrs %v", res.Attrs)
			}
			pods, _ := c.CoreV1().Pods(DefaultNamespace).List(ctx, metav1.ListOptions{})
			if len(pods.Items) != 0 {
				t.Errorf("%d pods left after the attempt, want it deleted", len(pods.Items))
			}
		})
	}
}

func TestSchedulingPodSpec(t *testing.T) {
	p, err := NewScheduling(nil, SchedulingOptions{Run: "r", NodeSelector: map[string]string{"topology.kubernetes.io/zone": "zone-b"}})
	if err != nil {
		t.Fatal(err)
	}
	pod := p.pod(7)
	ctr := pod.Spec.Containers[0]
	if pod.Name != "kdrill-s-r-7" || pod.Namespace != DefaultNamespace || ctr.Image != DefaultImage || ctr.ImagePullPolicy != corev1.PullNever {
		t.Errorf("pod %s/%s image %s policy %s", pod.Namespace, pod.Name, ctr.Image, ctr.ImagePullPolicy)
	}
	if pod.Labels[LabelRun] != "r" || pod.Labels[LabelProbe] != probe.Scheduling || pod.Spec.NodeSelector["topology.kubernetes.io/zone"] != "zone-b" {
		t.Errorf("labels %v selector %v", pod.Labels, pod.Spec.NodeSelector)
	}
	// Attempts overlap up to the timeout: 60 s / 10 s, plus the one starting.
	want := probe.Schedule{Interval: DefaultSchedulingInterval, Timeout: DefaultSchedulingTimeout, MaxInFlight: 7}
	if p.Schedule() != want || p.Name() != probe.Scheduling {
		t.Errorf("%s %+v", p.Name(), p.Schedule())
	}
	for _, o := range []SchedulingOptions{{}, {Run: "r", Interval: -1}} {
		if _, err := NewScheduling(nil, o); err == nil {
			t.Errorf("NewScheduling(%+v) accepted", o)
		}
	}
}

func TestSchedulingCleanup(t *testing.T) {
	c := fake.NewClientset()
	deleteCollection(c)
	p, _ := NewScheduling(c, SchedulingOptions{Run: "run1"})
	ctx := context.Background()
	for _, pod := range []*corev1.Pod{p.pod(1), p.pod(2)} {
		if _, err := c.CoreV1().Pods(DefaultNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := NewScheduling(c, SchedulingOptions{Run: "run2"})
	if _, err := c.CoreV1().Pods(DefaultNamespace).Create(ctx, other.pod(1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	pods, _ := c.CoreV1().Pods(DefaultNamespace).List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 1 || pods.Items[0].Labels[LabelRun] != "run2" {
		t.Errorf("after cleanup: %d pods", len(pods.Items))
	}
}

func TestEnsureNamespace(t *testing.T) {
	c := fake.NewClientset()
	ctx := context.Background()
	for range 2 { // the second finds it exists
		if err := EnsureNamespace(ctx, c, "kdrill"); err != nil {
			t.Fatal(err)
		}
	}
	c.PrependReactor("create", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	if err := EnsureNamespace(ctx, c, "other"); err == nil || !strings.Contains(err.Error(), "create namespace other") {
		t.Errorf("EnsureNamespace() = %v", err)
	}
}
