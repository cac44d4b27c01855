package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"time"
)

// Defaults of the data-plane prober.
const (
	DefaultDataPlaneRate    = 20 // requests per second
	DefaultDataPlaneTimeout = time.Second
)

// maxAnswer bounds how much of a response body the prober reads.
const maxAnswer = 64 << 10

// Answer is what the workload (cmd/kdrill-echo) answers to GET /.
type Answer struct {
	Pod  string `json:"pod"`
	Node string `json:"node"`
	Zone string `json:"zone"`
	Time string `json:"time"`
}

// DataPlaneOptions configures NewDataPlane. The zero value means defaults.
type DataPlaneOptions struct {
	Name    string        // default DataPlane
	Rate    float64       // requests per second, default DefaultDataPlaneRate
	Timeout time.Duration // per request, default DefaultDataPlaneTimeout
	// Client to send requests with. By default a client with its own
	// transport that keeps connections alive and ignores proxy variables.
	Client *http.Client
}

// DataPlaneProber sends HTTP GETs to the workload at a fixed rate and records
// which pod answered. An attempt succeeds on a 2xx answer whose body is the
// workload's JSON.
type DataPlaneProber struct {
	name     string
	url      string
	client   *http.Client
	own      *http.Transport // the default transport, closed by Close
	schedule Schedule
}

// NewDataPlane returns a prober for the workload at url.
func NewDataPlane(url string, o DataPlaneOptions) (*DataPlaneProber, error) {
	if url == "" {
		return nil, fmt.Errorf("data-plane prober: no workload URL")
	}
	if o.Name == "" {
		o.Name = DataPlane
	}
	if o.Rate == 0 {
		o.Rate = DefaultDataPlaneRate
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("data-plane prober: rate %v is not a positive number", o.Rate)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultDataPlaneTimeout
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("data-plane prober: timeout %v is negative", o.Timeout)
	}
	interval := time.Duration(float64(time.Second) / o.Rate)
	if interval <= 0 {
		return nil, fmt.Errorf("data-plane prober: rate %v is too high", o.Rate)
	}
	// Enough slots that requests hanging until their timeout never hold up
	// the fixed rate.
	inFlight := int(o.Timeout/interval) + 2
	p := &DataPlaneProber{
		name:     o.Name,
		url:      url,
		client:   o.Client,
		schedule: Schedule{Interval: interval, Timeout: o.Timeout, MaxInFlight: inFlight},
	}
	if p.client == nil {
		p.own = &http.Transport{
			// Environment proxies must not carry probes meant for a local
			// cluster.
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        inFlight,
			MaxIdleConnsPerHost: inFlight,
			IdleConnTimeout:     30 * time.Second,
		}
		p.client = &http.Client{Transport: p.own}
	}
	return p, nil
}

// Name implements Prober.
func (p *DataPlaneProber) Name() string { return p.name }

// Schedule implements Prober.
func (p *DataPlaneProber) Schedule() Schedule { return p.schedule }

// Probe implements Prober.
func (p *DataPlaneProber) Probe(ctx context.Context) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return Result{Detail: fmt.Sprintf("build request: %v", err)}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Result{Detail: fmt.Sprintf("GET %s: %v", p.url, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	// Drain what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return Result{Detail: fmt.Sprintf("GET %s: read body: %v", p.url, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Result{Detail: fmt.Sprintf("GET %s: %s", p.url, resp.Status)}
	}
	var a Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return Result{Detail: fmt.Sprintf("GET %s: answer is not the workload's JSON: %v", p.url, err)}
	}
	attrs := map[string]string{}
	for k, v := range map[string]string{"pod": a.Pod, "node": a.Node, "zone": a.Zone} {
		if v != "" {
			attrs[k] = v
		}
	}
	return Result{OK: true, Attrs: attrs}
}

// Close releases the idle connections of the prober's own transport.
func (p *DataPlaneProber) Close() {
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
}
