package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// zoneLabel is the well-known label kdrill's kind provider sets on nodes.
	zoneLabel = "topology.kubernetes.io/zone"
	// unknownZone is reported until the zone has been read once.
	unknownZone = "unknown"
)

// zoneCache holds the last zone read from the API server. It is safe for
// concurrent use and never blocks.
type zoneCache struct {
	v atomic.Pointer[string]
}

// Get returns the cached zone, or "unknown" if none was ever read.
func (c *zoneCache) Get() string {
	if z := c.v.Load(); z != nil {
		return *z
	}
	return unknownZone
}

// Set replaces the cached zone.
func (c *zoneCache) Set(zone string) {
	c.v.Store(&zone)
}

// nodeZoneClient reads a node's zone label from the API server with the
// pod's service-account credentials, using plain net/http so the binary
// stays small.
type nodeZoneClient struct {
	baseURL   string // https://host:port
	tokenFile string
	http      *http.Client
}

// newNodeZoneClient returns a client for the API server at host:port that
// trusts the CA in caFile.
func newNodeZoneClient(host, port, tokenFile, caFile string) (*nodeZoneClient, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read API server CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificates in %s", caFile)
	}
	return &nodeZoneClient{
		baseURL:   "https://" + net.JoinHostPort(host, port),
		tokenFile: tokenFile,
		http: &http.Client{
			// Short, so that a frozen API server only delays the next retry.
			Timeout: 5 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				TLSHandshakeTimeout: 5 * time.Second,
				// A fresh connection per lookup: lookups are rare, and a kept
				// connection to a killed API server only fails later.
				DisableKeepAlives: true,
			},
		},
	}, nil
}

// Zone returns the zone label of the named node.
func (c *nodeZoneClient) Zone(ctx context.Context, node string) (string, error) {
	// Read on every call: the kubelet rotates projected tokens.
	token, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return "", fmt.Errorf("read service-account token: %w", err)
	}
	u := c.baseURL + "/api/v1/nodes/" + url.PathEscape(node)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("build request for node %s: %w", node, err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "kdrill-echo")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("get node %s: %w", node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read node %s: %w", node, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get node %s: %s: %s", node, resp.Status, strings.TrimSpace(string(body)))
	}
	var n struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return "", fmt.Errorf("decode node %s: %w", node, err)
	}
	zone := n.Metadata.Labels[zoneLabel]
	if zone == "" {
		// The harness labels nodes after the cluster is up, so an absent
		// label is worth retrying rather than caching.
		return "", fmt.Errorf("node %s has no %s label", node, zoneLabel)
	}
	return zone, nil
}

// zoneRefresher keeps a zoneCache filled: it retries with capped
// exponential backoff until a lookup succeeds, then looks again every
// refresh interval in case the label changed. A failed lookup keeps the
// zone already cached.
type zoneRefresher struct {
	lookup     func(ctx context.Context) (string, error)
	cache      *zoneCache
	minBackoff time.Duration
	maxBackoff time.Duration
	refresh    time.Duration
	log        *slog.Logger
}

// run refreshes the cache until ctx ends.
func (r *zoneRefresher) run(ctx context.Context) {
	backoff := r.minBackoff
	for {
		wait := r.refresh
		zone, err := r.lookup(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.Warn("zone lookup failed, keeping cached zone", "zone", r.cache.Get(), "retryIn", backoff, "err", err)
			wait = backoff
			backoff = min(2*backoff, r.maxBackoff)
		default:
			if old := r.cache.Get(); old != zone {
				r.log.Info("zone updated", "zone", zone, "was", old)
			}
			r.cache.Set(zone)
			backoff = r.minBackoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
