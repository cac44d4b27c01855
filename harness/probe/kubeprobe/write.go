package kubeprobe

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
)

// Defaults of the write prober.
const (
	DefaultWriteInterval = time.Second
	DefaultWriteTimeout  = 2 * time.Second
)

// WriteOptions configures NewWrite.
type WriteOptions struct {
	// Run identifies the drill run; it must be a valid label value and
	// unique across runs, since read-back finds the run's writes by it.
	Run       string
	Name      string        // default probe.APIWrite
	Interval  time.Duration // default DefaultWriteInterval
	Timeout   time.Duration // default DefaultWriteTimeout
	Namespace string        // default DefaultNamespace; must exist
	Clock     clock.Clock   // stamps ledger entries; default the real clock
}

// WriteProber creates one ConfigMap per attempt, named after the run and a
// sequence number, and records every write in a ledger, acknowledged or not.
// Creating a new object per write (rather than updating one) lets read-back
// prove each acknowledged write present or lost on its own.
type WriteProber struct {
	client kubernetes.Interface
	ledger *ledger.Ledger
	o      WriteOptions
	seq    atomic.Uint64
}

// NewWrite returns a write prober that records into l.
func NewWrite(client kubernetes.Interface, l *ledger.Ledger, o WriteOptions) (*WriteProber, error) {
	if !validLabelValue(o.Run) {
		return nil, fmt.Errorf("write prober: run id %q is not a valid label value", o.Run)
	}
	if len(o.Run) > 40 {
		// Names are kdrill-w-<run>-<seq>; keep them well inside 253.
		return nil, fmt.Errorf("write prober: run id %q is longer than 40 characters", o.Run)
	}
	if l == nil {
		return nil, fmt.Errorf("write prober: no ledger")
	}
	if o.Name == "" {
		o.Name = probe.APIWrite
	}
	if o.Interval == 0 {
		o.Interval = DefaultWriteInterval
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultWriteTimeout
	}
	if o.Interval < 0 || o.Timeout < 0 {
		return nil, fmt.Errorf("write prober: negative interval or timeout")
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	return &WriteProber{client: client, ledger: l, o: o}, nil
}

// Name implements probe.Prober.
func (p *WriteProber) Name() string { return p.o.Name }

// Schedule implements probe.Prober. Writes run one at a time: a write still
// hanging at the next tick costs that tick.
func (p *WriteProber) Schedule() probe.Schedule {
	return probe.Schedule{Interval: p.o.Interval, Timeout: p.o.Timeout}
}

// ConfigMapName is the name of write seq of run.
func ConfigMapName(run string, seq uint64) string {
	return fmt.Sprintf("kdrill-w-%s-%d", run, seq)
}

// Probe implements probe.Prober.
func (p *WriteProber) Probe(ctx context.Context) probe.Result {
	seq := p.seq.Add(1)
	name := ConfigMapName(p.o.Run, seq)
	start := p.o.Clock.Now()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: p.o.Namespace,
			Labels: map[string]string{
				LabelManagedBy: "kdrill",
				LabelRun:       p.o.Run,
				LabelProbe:     p.o.Name,
				LabelSeq:       strconv.FormatUint(seq, 10),
			},
		},
		Data: map[string]string{
			"seq":    strconv.FormatUint(seq, 10),
			"issued": start.UTC().Format(time.RFC3339Nano),
		},
	}
	got, err := p.client.CoreV1().ConfigMaps(p.o.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	w := ledger.Write{Seq: seq, Name: name, Start: start}
	if err != nil {
		w.Err = err.Error()
		p.ledger.Record(w)
		return probe.Result{Detail: fmt.Sprintf("create configmap %s: %v", name, err), Attrs: map[string]string{"seq": strconv.FormatUint(seq, 10)}}
	}
	w.Acked = p.o.Clock.Now()
	w.ResourceVersion = got.ResourceVersion
	p.ledger.Record(w)
	return probe.Result{OK: true, Attrs: map[string]string{
		"seq":              strconv.FormatUint(seq, 10),
		"resource_version": got.ResourceVersion,
	}}
}

// ReadBack lists what the write prober of run left in namespace, for
// ledger.Verify. The list is a quorum read, paged. A run has one write
// prober: sequence numbers are unique only within it.
func ReadBack(ctx context.Context, client kubernetes.Interface, namespace, run string) ([]ledger.Observed, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelRun: run}).String()
	var out []ledger.Observed
	opts := metav1.ListOptions{LabelSelector: sel, Limit: 500}
	for {
		list, err := client.CoreV1().ConfigMaps(namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("read back writes of run %s in %s: %w", run, namespace, err)
		}
		for _, cm := range list.Items {
			v, ok := cm.Labels[LabelSeq]
			if !ok {
				continue
			}
			seq, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("read back writes of run %s: configmap %s has label %s=%q: %w", run, cm.Name, LabelSeq, v, err)
			}
			out = append(out, ledger.Observed{Seq: seq, ResourceVersion: cm.ResourceVersion})
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// Verify reads back the writes of this prober's run and verifies its ledger.
func (p *WriteProber) Verify(ctx context.Context) (ledger.Report, error) {
	obs, err := ReadBack(ctx, p.client, p.o.Namespace, p.o.Run)
	if err != nil {
		return ledger.Report{}, err
	}
	return ledger.Verify(p.ledger.Writes(), obs), nil
}

// Cleanup deletes the ConfigMaps of this prober's run.
func (p *WriteProber) Cleanup(ctx context.Context) error {
	sel := labels.SelectorFromSet(labels.Set{LabelRun: p.o.Run, LabelProbe: p.o.Name}).String()
	err := p.client.CoreV1().ConfigMaps(p.o.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("delete writes of run %s: %w", p.o.Run, err)
	}
	return nil
}
