package etcdprobe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/kdrill/kdrill/harness/probe"
)

// Defaults of the etcd prober.
const (
	DefaultInterval = time.Second
	DefaultTimeout  = 2 * time.Second
)

// Options configures New.
type Options struct {
	Endpoints []string      // host:port or https://host:port; required
	TLS       *tls.Config   // client certificate and CA; nil for plain text
	Name      string        // default probe.Etcd
	Interval  time.Duration // default DefaultInterval
	Timeout   time.Duration // default DefaultTimeout
}

// Prober checks etcd's health and status on every endpoint.
type Prober struct {
	client *clientv3.Client
	o      Options
}

// New returns an etcd prober. It does not connect until the first attempt;
// Close releases its client.
func New(o Options) (*Prober, error) {
	if len(o.Endpoints) == 0 {
		return nil, fmt.Errorf("etcd prober: no endpoints")
	}
	if o.Name == "" {
		o.Name = probe.Etcd
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Interval < 0 || o.Timeout < 0 {
		return nil, fmt.Errorf("etcd prober: negative interval or timeout")
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   o.Endpoints,
		TLS:         o.TLS,
		DialTimeout: 0, // do not block here; attempts carry their own timeout
		Logger:      zap.NewNop(),
		// Keepalive notices a dead connection between attempts.
		DialKeepAliveTime:    o.Interval + o.Timeout,
		DialKeepAliveTimeout: o.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd prober: make client for %s: %w", strings.Join(o.Endpoints, ","), err)
	}
	return &Prober{client: c, o: o}, nil
}

// Name implements probe.Prober.
func (p *Prober) Name() string { return p.o.Name }

// Schedule implements probe.Prober.
func (p *Prober) Schedule() probe.Schedule {
	return probe.Schedule{Interval: p.o.Interval, Timeout: p.o.Timeout}
}

// Probe implements probe.Prober. It fails if any endpoint's status cannot be
// read, reports an alarm or knows no leader, or if a linearizable read fails.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	attrs := map[string]string{}
	for i, ep := range p.o.Endpoints {
		st, err := p.client.Status(ctx, ep)
		if err != nil {
			return probe.Result{Detail: fmt.Sprintf("status of %s: %v", ep, err), Attrs: attrs}
		}
		// One endpoint's figures stand for all in the attributes, with the
		// others' under a suffix, to keep single-member clusters readable.
		suffix := ""
		if i > 0 {
			suffix = "." + strconv.Itoa(i)
		}
		if st.Header != nil {
			attrs["revision"+suffix] = strconv.FormatInt(st.Header.Revision, 10)
			attrs["member"+suffix] = fmt.Sprintf("%x", st.Header.MemberId)
		}
		attrs["leader"+suffix] = fmt.Sprintf("%x", st.Leader)
		attrs["db_size"+suffix] = strconv.FormatInt(st.DbSize, 10)
		attrs["raft_term"+suffix] = strconv.FormatUint(st.RaftTerm, 10)
		if len(st.Errors) > 0 {
			return probe.Result{Detail: fmt.Sprintf("status of %s: %s", ep, strings.Join(st.Errors, "; ")), Attrs: attrs}
		}
		if st.Leader == 0 {
			return probe.Result{Detail: fmt.Sprintf("status of %s: no leader", ep), Attrs: attrs}
		}
	}
	// Health is a linearizable read, as etcdctl endpoint health does: it
	// needs a quorum. Permission denied still proves one.
	if _, err := p.client.Get(ctx, "health"); err != nil && !errors.Is(err, rpctypes.ErrPermissionDenied) {
		return probe.Result{Detail: fmt.Sprintf("health read: %v", err), Attrs: attrs}
	}
	return probe.Result{OK: true, Attrs: attrs}
}

// Close releases the client.
func (p *Prober) Close() error { return p.client.Close() }
