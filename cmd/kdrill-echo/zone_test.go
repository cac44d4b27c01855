package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAPI is a TLS server standing in for the API server, with a client
// wired to it the way the pod's service account would be.
func fakeAPI(t *testing.T, h http.HandlerFunc) (*httptest.Server, *nodeZoneClient) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newNodeZoneClient(host, port, token, ca)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// nodeJSON is a trimmed Node as the API server returns it.
func nodeJSON(labels string) string {
	return `{"kind":"Node","apiVersion":"v1","metadata":{"name":"kind-worker","labels":{` + labels + `}}}`
}

func TestNodeZoneClient(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    string
		wantErr string
	}{
		{
			name:   "labelled node",
			status: http.StatusOK,
			body:   nodeJSON(`"kubernetes.io/hostname":"kind-worker","topology.kubernetes.io/zone":"zone-b"`),
			want:   "zone-b",
		},
		{name: "no zone label", status: http.StatusOK, body: nodeJSON(`"kubernetes.io/hostname":"kind-worker"`), wantErr: "no topology.kubernetes.io/zone label"},
		{name: "forbidden", status: http.StatusForbidden, body: `{"kind":"Status","reason":"Forbidden"}`, wantErr: "403"},
		{name: "apiserver starting", status: http.StatusServiceUnavailable, body: "", wantErr: "503"},
		{name: "not JSON", status: http.StatusOK, body: "<html>", wantErr: "decode node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/nodes/kind-worker" {
					http.Error(w, "wrong path "+r.URL.Path, http.StatusNotFound)
					return
				}
				if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
					http.Error(w, "bad token "+got, http.StatusUnauthorized)
					return
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			got, err := c.Zone(context.Background(), "kind-worker")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Zone() = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Zone() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNodeZoneClientRejectsUntrustedServer(t *testing.T) {
	_, c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, nodeJSON(`"topology.kubernetes.io/zone":"zone-x"`))
	})
	// Forget the CA the client was given: the same server is now a stranger.
	c.http.Transport.(*http.Transport).TLSClientConfig.RootCAs = x509.NewCertPool()
	if z, err := c.Zone(context.Background(), "kind-worker"); err == nil {
		t.Fatalf("Zone() = %q against an untrusted server, want an error", z)
	}
}

func TestNewNodeZoneClientBadCA(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not-pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, caFile, wantErr string
	}{
		{name: "missing file", caFile: filepath.Join(dir, "absent"), wantErr: "read API server CA"},
		{name: "no certificates", caFile: notPEM, wantErr: "no certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newNodeZoneClient("10.96.0.1", "443", filepath.Join(dir, "token"), tt.caFile)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("newNodeZoneClient() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestZoneRefresherFailsThenSucceeds(t *testing.T) {
	var calls, down atomic.Int32
	_, c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case down.Load() == 1:
			// The drill killed the API server.
			http.Error(w, "connection refused", http.StatusServiceUnavailable)
		case n <= 3:
			http.Error(w, "etcd not ready", http.StatusServiceUnavailable)
		default:
			io.WriteString(w, nodeJSON(`"topology.kubernetes.io/zone":"zone-b"`))
		}
	})
	cache := &zoneCache{}
	r := &zoneRefresher{
		lookup:     func(ctx context.Context) (string, error) { return c.Zone(ctx, "kind-worker") },
		cache:      cache,
		minBackoff: time.Millisecond,
		maxBackoff: 4 * time.Millisecond,
		refresh:    time.Millisecond,
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if got := cache.Get(); got != unknownZone {
		t.Fatalf("zone before any lookup = %q, want %q", got, unknownZone)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()

	waitFor(t, func() bool { return cache.Get() == "zone-b" }, "zone to be cached")
	if n := calls.Load(); n < 4 {
		t.Errorf("zone cached after %d calls, want at least 4 (3 failures first)", n)
	}

	// Take the API server down: the cached zone must survive the failures.
	down.Store(1)
	before := calls.Load()
	waitFor(t, func() bool { return calls.Load() >= before+3 }, "lookups against the dead API server")
	if got := cache.Get(); got != "zone-b" {
		t.Errorf("zone while API server down = %q, want zone-b", got)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("refresher did not stop with its context")
	}
}

func TestZoneCache(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{name: "never set", want: "unknown"},
		{name: "set once", sets: []string{"zone-a"}, want: "zone-a"},
		{name: "last wins", sets: []string{"zone-a", "zone-b"}, want: "zone-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c zoneCache
			for _, z := range tt.sets {
				c.Set(z)
			}
			if got := c.Get(); got != tt.want {
				t.Errorf("Get() = %q, want %q", got, tt.want)
			}
		})
	}
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
