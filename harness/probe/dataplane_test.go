package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/internal/leaktest"
)

func TestDataPlaneProbe(t *testing.T) {
	leaktest.Check(t)
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		closed    bool // server shut before probing
		wantOK    bool
		wantPod   string
		wantInErr string
	}{
		{
			name: "workload answers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"pod":"echo-1","node":"kdrill-worker","zone":"zone-b","time":"2025-01-01T00:00:00Z"}`)
			},
			wantOK: true, wantPod: "echo-1",
		},
		{
			name: "server error",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no endpoints", http.StatusServiceUnavailable)
			},
			wantInErr: "503",
		},
		{
			name:      "not the workload",
			handler:   func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>hello</html>") },
			wantInErr: "not the workload's JSON",
		},
		{
			name:      "hangs past the timeout",
			handler:   func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			wantInErr: "deadline",
		},
		{
			name:      "nobody listening",
			handler:   func(w http.ResponseWriter, r *http.Request) {},
			closed:    true,
			wantInErr: "connect",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			if tt.closed {
				srv.Close()
			} else {
				t.Cleanup(srv.Close)
			}
			p, err := NewDataPlane(srv.URL, DataPlaneOptions{Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			ctx, cancel := context.WithTimeout(context.Background(), p.Schedule().Timeout)
			defer cancel()
			res := p.Probe(ctx)
			if res.OK != tt.wantOK {
				t.Fatalf("OK = %v (%s), want %v", res.OK, res.Detail, tt.wantOK)
			}
			if res.Attrs["pod"] != tt.wantPod {
				t.Errorf("pod = %q, want %q", res.Attrs["pod"], tt.wantPod)
			}
			if tt.wantOK && (res.Attrs["zone"] != "zone-b" || res.Attrs["node"] != "kdrill-worker") {
				t.Errorf("attrs %v, want node and zone", res.Attrs)
			}
			if !strings.Contains(res.Detail, tt.wantInErr) {
				t.Errorf("detail %q, want it to contain %q", res.Detail, tt.wantInErr)
			}
		})
	}
}

func TestNewDataPlaneOptions(t *testing.T) {
	tests := []struct {
		name     string
		o        DataPlaneOptions
		url      string
		want     Schedule
		wantName string
		wantErr  string
	}{
		{"defaults", DataPlaneOptions{}, "http://x", Schedule{Interval: 50 * time.Millisecond, Timeout: time.Second, MaxInFlight: 22}, DataPlane, ""},
		{"500/s", DataPlaneOptions{Name: "dp", Rate: 500, Timeout: 200 * time.Millisecond}, "http://x", Schedule{Interval: 2 * time.Millisecond, Timeout: 200 * time.Millisecond, MaxInFlight: 102}, "dp", ""},
		{"no url", DataPlaneOptions{}, "", Schedule{}, "", "no workload URL"},
		{"negative rate", DataPlaneOptions{Rate: -1}, "http://x", Schedule{}, "", "not a positive number"},
		{"negative timeout", DataPlaneOptions{Timeout: -time.Second}, "http://x", Schedule{}, "", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewDataPlane(tt.url, tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.Schedule() != tt.want || p.Name() != tt.wantName {
				t.Errorf("%s %+v, want %s %+v", p.Name(), p.Schedule(), tt.wantName, tt.want)
			}
		})
	}
}

// TestDataPlaneUnderRunner runs the prober at 200/s against a workload that
// two pods answer, and checks every attempt is recorded with its pod.
func TestDataPlaneUnderRunner(t *testing.T) {
	leaktest.Check(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"pod":"echo-%d"}`, n.Add(1)%2)
	}))
	p, err := NewDataPlane(srv.URL, DataPlaneOptions{Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	h := &History{}
	if err := (&Runner{}).Run(ctx, h, p); err != nil {
		t.Fatal(err)
	}
	p.Close()
	srv.Close()
	s := Summarize(h.Attempts())[0]
	if s.Attempts < 20 || s.Successes != s.Attempts {
		t.Errorf("%d of %d attempts succeeded in 300ms at 200/s", s.Successes, s.Attempts)
	}
	if len(s.Responders) != 2 {
		t.Errorf("responders %v, want two pods", s.Responders)
	}
}

func TestCommand(t *testing.T) {
	exec := func(ctx context.Context, node string, cmd ...string) ([]byte, error) {
		if node != "cp" || strings.Join(cmd, " ") != "curl -fsS http://127.0.0.1:10248/healthz" {
			return nil, fmt.Errorf("unexpected %s %v", node, cmd)
		}
		return []byte("ok\n"), nil
	}
	p := Command(Kubelet, Schedule{Interval: time.Second}, exec, "cp", "curl", "-fsS", "http://127.0.0.1:10248/healthz")
	if res := p.Probe(context.Background()); !res.OK || res.Detail != "ok" {
		t.Errorf("Probe() = %+v, want ok", res)
	}
	bad := Command(Kubelet, Schedule{Interval: time.Second}, exec, "worker", "true")
	if res := bad.Probe(context.Background()); res.OK || !strings.Contains(res.Detail, "on worker: true") {
		t.Errorf("Probe() = %+v, want a failure naming node and command", res)
	}
	if p.Name() != Kubelet || p.Schedule().Interval != time.Second {
		t.Errorf("Name/Schedule = %s %v", p.Name(), p.Schedule())
	}
}
