package kubeprobe

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/probe"
)

// Defaults of the scheduling prober.
const (
	DefaultSchedulingInterval = 10 * time.Second
	DefaultSchedulingTimeout  = 60 * time.Second
	// DefaultImage is the workload image, which kind nodes have preloaded;
	// it is never pulled.
	DefaultImage = "kdrill/echo:v1"
)

const (
	// deleteTimeout bounds deleting a probe pod after its attempt.
	deleteTimeout = 10 * time.Second
	// rewatchPause separates watches of a pod that is not running yet.
	rewatchPause = 200 * time.Millisecond
)

// SchedulingOptions configures NewScheduling.
type SchedulingOptions struct {
	// Run identifies the drill run, as for WriteOptions.
	Run        string
	Name       string        // default probe.Scheduling
	Interval   time.Duration // default DefaultSchedulingInterval
	Timeout    time.Duration // to Running; default DefaultSchedulingTimeout
	Namespace  string        // default DefaultNamespace; must exist
	Image      string        // default DefaultImage
	PullPolicy corev1.PullPolicy
	// NodeSelector places the pod, for example on one zone.
	NodeSelector map[string]string
	Clock        clock.Clock // times the pod to Running; default the real clock
}

// SchedulingProber creates a small pod, waits until it runs and deletes it:
// the seed's "unable to start new pods" as a measurement. The time from
// create to Running is the attempt's running_seconds attribute; the attempt's
// duration also covers the deletion.
type SchedulingProber struct {
	client kubernetes.Interface
	o      SchedulingOptions
	seq    atomic.Uint64
}

// NewScheduling returns a scheduling prober.
func NewScheduling(client kubernetes.Interface, o SchedulingOptions) (*SchedulingProber, error) {
	if !validLabelValue(o.Run) || len(o.Run) > 40 {
		return nil, fmt.Errorf("scheduling prober: run id %q is not a valid label value of at most 40 characters", o.Run)
	}
	if o.Name == "" {
		o.Name = probe.Scheduling
	}
	if o.Interval == 0 {
		o.Interval = DefaultSchedulingInterval
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultSchedulingTimeout
	}
	if o.Interval < 0 || o.Timeout < 0 {
		return nil, fmt.Errorf("scheduling prober: negative interval or timeout")
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.PullPolicy == "" {
		o.PullPolicy = corev1.PullNever
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	return &SchedulingProber{client: client, o: o}, nil
}

// Name implements probe.Prober.
func (p *SchedulingProber) Name() string { return p.o.Name }

// Schedule implements probe.Prober. A pod may take longer than one interval
// to run and still be on time: attempts overlap, as many as the timeout
// allows, so that each tick's pod is judged by its own deadline and not by
// its predecessor's.
func (p *SchedulingProber) Schedule() probe.Schedule {
	return probe.Schedule{Interval: p.o.Interval, Timeout: p.o.Timeout, MaxInFlight: int(p.o.Timeout/p.o.Interval) + 1}
}

func (p *SchedulingProber) pod(seq uint64) *corev1.Pod {
	zero := int64(0)
	no := false
	small := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("10m"),
		corev1.ResourceMemory: resource.MustParse("16Mi"),
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("kdrill-s-%s-%d", p.o.Run, seq),
			Namespace: p.o.Namespace,
			Labels: map[string]string{
				LabelManagedBy: "kdrill",
				LabelRun:       p.o.Run,
				LabelProbe:     p.o.Name,
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &zero,
			AutomountServiceAccountToken:  &no,
			NodeSelector:                  p.o.NodeSelector,
			Containers: []corev1.Container{{
				Name:            "probe",
				Image:           p.o.Image,
				ImagePullPolicy: p.o.PullPolicy,
				Resources:       corev1.ResourceRequirements{Requests: small, Limits: small},
			}},
		},
	}
}

// Probe implements probe.Prober.
func (p *SchedulingProber) Probe(ctx context.Context) probe.Result {
	seq := p.seq.Add(1)
	pods := p.client.CoreV1().Pods(p.o.Namespace)
	start := p.o.Clock.Now()
	created, err := pods.Create(ctx, p.pod(seq), metav1.CreateOptions{})
	if err != nil {
		return probe.Result{Detail: fmt.Sprintf("create pod: %v", err)}
	}
	name := created.Name
	attrs := map[string]string{"pod": name}
	// Delete even when ctx has ended; Cleanup catches what this misses.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
		_ = pods.Delete(dctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	}()
	pod, err := p.waitRunning(ctx, name, created.ResourceVersion)
	if pod != nil {
		attrs["node"] = pod.Spec.NodeName
	}
	if err != nil {
		return probe.Result{Detail: fmt.Sprintf("pod %s: %v", name, err), Attrs: attrs}
	}
	took := p.o.Clock.Now().Sub(start)
	attrs["running_seconds"] = strconv.FormatFloat(took.Seconds(), 'f', 3, 64)
	return probe.Result{OK: true, Detail: "running after " + took.Round(time.Millisecond).String(), Attrs: attrs}
}

// waitRunning watches pod name until it runs, fails or ctx ends. It reads the
// pod after each (re)watch so that a change made before the watch started is
// not missed.
func (p *SchedulingProber) waitRunning(ctx context.Context, name, rv string) (*corev1.Pod, error) {
	pods := p.client.CoreV1().Pods(p.o.Namespace)
	var last *corev1.Pod
	for {
		w, err := pods.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: rv,
		})
		if err != nil {
			return last, waitErr(ctx, last, fmt.Errorf("watch: %w", err))
		}
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			w.Stop()
			return last, waitErr(ctx, last, fmt.Errorf("get: %w", err))
		}
		last = pod
		if done, err := settled(pod); done {
			w.Stop()
			return pod, err
		}
		pod, done, err := consume(ctx, w, name)
		w.Stop()
		if pod != nil {
			last = pod
			rv = pod.ResourceVersion
		}
		if done {
			return last, err
		}
		if ctx.Err() != nil {
			return last, waitErr(ctx, last, nil)
		}
		// The watch ended early (the API server went away, or the watch
		// expired): read and watch again, after a pause so that a watch
		// that keeps closing at once does not become a busy loop.
		select {
		case <-ctx.Done():
			return last, waitErr(ctx, last, nil)
		case <-time.After(rewatchPause):
		}
	}
}

// consume reads watch events for pod name until it settles, the watch ends
// or ctx does. It reports done once the pod settled or is gone.
func consume(ctx context.Context, w watch.Interface, name string) (last *corev1.Pod, done bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return last, false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return last, false, nil
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod || pod.Name != name {
				continue
			}
			last = pod
			if ev.Type == watch.Deleted {
				return last, true, fmt.Errorf("deleted before it ran")
			}
			if done, err := settled(pod); done {
				return last, true, err
			}
		}
	}
}

// settled reports whether pod reached a state that ends the wait, and
// whether that state is a failure.
func settled(pod *corev1.Pod) (bool, error) {
	switch pod.Status.Phase {
	case corev1.PodRunning:
		return true, nil
	case corev1.PodFailed, corev1.PodSucceeded:
		return true, fmt.Errorf("ended in phase %s before it was seen running", pod.Status.Phase)
	}
	return false, nil
}

func waitErr(ctx context.Context, last *corev1.Pod, err error) error {
	phase := "unknown"
	if last != nil && last.Status.Phase != "" {
		phase = string(last.Status.Phase)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("not running before the timeout (phase %s)", phase)
	}
	return fmt.Errorf("%w (phase %s)", err, phase)
}

// Cleanup deletes every pod this prober created in its run, for pods whose
// deletion failed while the API server was down.
func (p *SchedulingProber) Cleanup(ctx context.Context) error {
	sel := labels.SelectorFromSet(labels.Set{LabelRun: p.o.Run, LabelProbe: p.o.Name}).String()
	err := p.client.CoreV1().Pods(p.o.Namespace).DeleteCollection(ctx,
		metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{LabelSelector: sel})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete scheduling pods of run %s: %w", p.o.Run, err)
	}
	return nil
}
