package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	fixed := time.Date(2026, 3, 1, 12, 0, 0, 5, time.FixedZone("CET", 3600))
	info := podInfo{Pod: "kdrill-echo-abc", Node: "kind-worker"}
	tests := []struct {
		name       string
		method     string
		path       string
		zone       string
		draining   bool
		wantStatus int
		wantReply  *echoReply // checked when set
		wantBody   string     // checked when set
	}{
		{
			name: "echo with cached zone", method: http.MethodGet, path: "/", zone: "zone-b",
			wantStatus: http.StatusOK,
			wantReply:  &echoReply{Pod: "kdrill-echo-abc", Node: "kind-worker", Zone: "zone-b", Time: "2026-03-01T11:00:00.000000005Z"},
		},
		{
			name: "echo before zone is known", method: http.MethodGet, path: "/", zone: unknownZone,
			wantStatus: http.StatusOK,
			wantReply:  &echoReply{Pod: "kdrill-echo-abc", Node: "kind-worker", Zone: "unknown", Time: "2026-03-01T11:00:00.000000005Z"},
		},
		{name: "HEAD is served too", method: http.MethodHead, path: "/", zone: "zone-b", wantStatus: http.StatusOK},
		{name: "healthz", method: http.MethodGet, path: "/healthz", zone: "zone-b", wantStatus: http.StatusOK, wantBody: "ok\n"},
		{name: "healthz does not need the zone", method: http.MethodGet, path: "/healthz", zone: unknownZone, wantStatus: http.StatusOK, wantBody: "ok\n"},
		{name: "healthz fails while draining", method: http.MethodGet, path: "/healthz", zone: "zone-b", draining: true, wantStatus: http.StatusServiceUnavailable},
		{
			name: "echo still served while draining", method: http.MethodGet, path: "/", zone: "zone-b", draining: true,
			wantStatus: http.StatusOK,
			wantReply:  &echoReply{Pod: "kdrill-echo-abc", Node: "kind-worker", Zone: "zone-b", Time: "2026-03-01T11:00:00.000000005Z"},
		},
		{name: "other path", method: http.MethodGet, path: "/nope", zone: "zone-b", wantStatus: http.StatusNotFound},
		{name: "POST is refused", method: http.MethodPost, path: "/", zone: "zone-b", wantStatus: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(info, func() string { return tt.zone }, func() time.Time { return fixed }, func() bool { return tt.draining })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %q", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body, tt.wantBody)
			}
			if tt.wantReply == nil {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got echoReply
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not JSON: %v: %q", err, rec.Body)
			}
			if got != *tt.wantReply {
				t.Errorf("reply = %+v, want %+v", got, *tt.wantReply)
			}
		})
	}
}

// TestServesWhileAPIServerHangs is the drill in miniature: the API server
// accepts connections but never answers, and the echo server must still
// answer at once, with "unknown" since no zone was ever read.
func TestServesWhileAPIServerHangs(t *testing.T) {
	release := make(chan struct{})
	_, c := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release) // before fakeAPI's Close, which waits for handlers

	cache := &zoneCache{}
	r := &zoneRefresher{
		lookup:     func(ctx context.Context) (string, error) { return c.Zone(ctx, "kind-worker") },
		cache:      cache,
		minBackoff: time.Millisecond,
		maxBackoff: time.Millisecond,
		refresh:    time.Minute,
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()

	srv := httptest.NewServer(newHandler(podInfo{Pod: "p", Node: "n"}, cache.Get, time.Now, func() bool { return false }))
	defer srv.Close()
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatalf("GET / while API server hangs: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("GET / took %v while the API server hangs", elapsed)
	}
	if !strings.Contains(string(body), `"zone":"unknown"`) {
		t.Errorf("body = %s, want zone unknown", body)
	}

	cancel() // also aborts the hanging lookup
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("refresher did not stop with its context")
	}
}

func TestEnvOr(t *testing.T) {
	tests := []struct {
		name, value, def, want string
	}{
		{name: "set", value: "9090", def: "8080", want: "9090"},
		{name: "empty falls back", value: "", def: "8080", want: "8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KDRILL_ECHO_TEST_PORT", tt.value)
			if got := envOr("KDRILL_ECHO_TEST_PORT", tt.def); got != tt.want {
				t.Errorf("envOr() = %q, want %q", got, tt.want)
			}
		})
	}
}
