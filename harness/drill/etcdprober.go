package drill

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/probe/etcdprobe"
)

// followingEtcd probes the control plane's etcd wherever it is: after a
// few failed attempts in a row it asks the target for etcd's endpoints
// again and, if they moved (a machine that rebooted with a new address, a
// re-provisioned control plane), probes the new ones from then on.
type followingEtcd struct {
	target harness.EtcdTarget
	mu     sync.Mutex
	cur    *etcdprobe.Prober
	eps    []string
	failed int
}

// rediscoverAfter is how many failed attempts in a row make the prober
// look for etcd again.
const rediscoverAfter = 3

func newFollowingEtcd(ctx context.Context, t harness.EtcdTarget) (*followingEtcd, error) {
	e, err := t.Etcd(ctx)
	if err != nil {
		return nil, err
	}
	p, err := etcdprobe.New(etcdprobe.Options{Endpoints: e.Endpoints, TLS: e.TLS})
	if err != nil {
		return nil, err
	}
	return &followingEtcd{target: t, cur: p, eps: e.Endpoints}, nil
}

// Name implements probe.Prober.
func (f *followingEtcd) Name() string { return f.prober().Name() }

// Schedule implements probe.Prober.
func (f *followingEtcd) Schedule() probe.Schedule { return f.prober().Schedule() }

func (f *followingEtcd) prober() *etcdprobe.Prober {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// Probe implements probe.Prober.
func (f *followingEtcd) Probe(ctx context.Context) probe.Result {
	res := f.prober().Probe(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	if res.OK {
		f.failed = 0
		return res
	}
	if f.failed++; f.failed < rediscoverAfter {
		return res
	}
	f.failed = 0
	// The attempt's own time is likely spent; the lookup gets its own.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	e, err := f.target.Etcd(lctx)
	if err != nil || slices.Equal(e.Endpoints, f.eps) {
		return res
	}
	p, err := etcdprobe.New(etcdprobe.Options{Endpoints: e.Endpoints, TLS: e.TLS})
	if err != nil {
		return res
	}
	f.cur.Close()
	f.cur, f.eps = p, e.Endpoints
	return res
}

// Close releases the current client.
func (f *followingEtcd) Close() error { return f.prober().Close() }
