package kubeprobe

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kdrill/kdrill/harness/internal/leaktest"
	"github.com/kdrill/kdrill/harness/probe"
)

func TestReadProbe(t *testing.T) {
	leaktest.Check(t)
	tests := []struct {
		name    string
		mode    string
		ns      string
		wantOK  bool
		wantErr string
	}{
		{name: "healthy", wantOK: true},
		{name: "serving before it reports ready", mode: "unready", wantOK: true},
		{name: "down", mode: "down", wantErr: "get namespace"},
		{name: "read fails", ns: "missing", wantErr: "get namespace missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newAPIServer(t)
			s.set(tt.mode)
			p, err := NewRead(c, ReadOptions{Namespace: tt.ns})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), p.Schedule().Timeout)
			defer cancel()
			res := p.Probe(ctx)
			if res.OK != tt.wantOK || !strings.Contains(res.Detail, tt.wantErr) {
				t.Errorf("Probe() = %+v, want ok=%v and detail containing %q", res, tt.wantOK, tt.wantErr)
			}
		})
	}
}

func TestReadProbeNobodyListening(t *testing.T) {
	leaktest.Check(t)
	c, err := NewClient(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewRead(c, ReadOptions{Timeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if res := p.Probe(ctx); res.OK || !strings.Contains(res.Detail, "refused") {
		t.Errorf("Probe() = %+v, want connection refused", res)
	}
}

func TestReadDefaults(t *testing.T) {
	p, err := NewRead(nil, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := probe.Schedule{Interval: DefaultReadInterval, Timeout: DefaultReadTimeout}
	if p.Name() != probe.APIRead || p.Schedule() != want {
		t.Errorf("%s %+v", p.Name(), p.Schedule())
	}
	if _, err := NewRead(nil, ReadOptions{Interval: -time.Second}); err == nil {
		t.Error("negative interval accepted")
	}
}
