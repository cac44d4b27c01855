package kubeprobe

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/internal/leaktest"
	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func TestWriteProbeAndVerify(t *testing.T) {
	leaktest.Check(t)
	s, c := newAPIServer(t)
	clk := clock.NewFake(t0)
	var l ledger.Ledger
	p, err := NewWrite(c, &l, WriteOptions{Run: "run1", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	probeOnce := func(wantOK bool) {
		t.Helper()
		res := p.Probe(ctx)
		if res.OK != wantOK {
			t.Fatalf("Probe() = %+v, want ok=%v", res, wantOK)
		}
		clk.Advance(time.Second)
	}
	// 1-3 acknowledged; 4 refused; 5 applied but its answer lost; 6-7
	// acknowledged.
	probeOnce(true)
	probeOnce(true)
	probeOnce(true)
	s.set("down")
	probeOnce(false)
	s.set("ack-lost")
	probeOnce(false)
	s.set("")
	probeOnce(true)
	probeOnce(true)

	ws := l.Writes()
	if len(ws) != 7 {
		t.Fatalf("%d writes in the ledger, want 7", len(ws))
	}
	for i, w := range ws {
		acked := i != 3 && i != 4
		if w.Seq != uint64(i+1) || w.Acknowledged() != acked || w.Name != ConfigMapName("run1", w.Seq) {
			t.Errorf("write %d: %+v, want acknowledged=%v", i+1, w, acked)
		}
		if acked && (w.ResourceVersion == "" || !w.Start.Equal(t0.Add(time.Duration(i)*time.Second))) {
			t.Errorf("write %d: resource version %q start %v", i+1, w.ResourceVersion, w.Start)
		}
		if !acked && w.Err == "" {
			t.Errorf("write %d: unacknowledged without an error", i+1)
		}
	}
	if rv1, _ := strconv.Atoi(ws[0].ResourceVersion); rv1 <= 0 {
		t.Errorf("resource version %q", ws[0].ResourceVersion)
	}

	// Another run's write must not be read back as this run's.
	other, _ := NewWrite(c, &ledger.Ledger{}, WriteOptions{Run: "run2"})
	if res := other.Probe(ctx); !res.OK {
		t.Fatal(res.Detail)
	}

	// An etcd restore loses writes 2 and 6.
	s.drop(ConfigMapName("run1", 2), ConfigMapName("run1", 6))
	r, err := p.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Acknowledged != 5 || r.Present != 3 || r.Lost != 2 || r.Unacknowledged != 2 || r.UnacknowledgedPresent != 1 || r.Unexpected != 0 {
		t.Errorf("report %+v", r)
	}
	if len(r.LostWrites) != 2 || r.LostWrites[0].Seq != 2 || r.LostWrites[1].Seq != 6 {
		t.Errorf("lost %+v, want 2 and 6", r.LostWrites)
	}

	if err := p.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if obs, err := ReadBack(ctx, c, DefaultNamespace, "run1"); err != nil || len(obs) != 0 {
		t.Errorf("after cleanup read back %v, %v", obs, err)
	}
	if obs, _ := ReadBack(ctx, c, DefaultNamespace, "run2"); len(obs) != 1 {
		t.Errorf("cleanup of run1 touched run2: %v", obs)
	}
}

func TestReadBackFails(t *testing.T) {
	leaktest.Check(t)
	s, c := newAPIServer(t)
	s.set("down")
	_, err := ReadBack(context.Background(), c, "kdrill", "run1")
	if err == nil || !strings.Contains(err.Error(), "read back writes of run run1") {
		t.Errorf("ReadBack() error = %v", err)
	}
}

func TestNewWriteOptions(t *testing.T) {
	var l ledger.Ledger
	tests := []struct {
		name    string
		o       WriteOptions
		l       *ledger.Ledger
		wantErr string
	}{
		{"defaults", WriteOptions{Run: "r-1.x_y"}, &l, ""},
		{"no run", WriteOptions{}, &l, "not a valid label value"},
		{"bad run", WriteOptions{Run: "a/b"}, &l, "not a valid label value"},
		{"run ends badly", WriteOptions{Run: "abc-"}, &l, "not a valid label value"},
		{"long run", WriteOptions{Run: strings.Repeat("a", 41)}, &l, "longer than 40"},
		{"no ledger", WriteOptions{Run: "r"}, nil, "no ledger"},
		{"negative", WriteOptions{Run: "r", Timeout: -1}, &l, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewWrite(nil, tt.l, tt.o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := probe.Schedule{Interval: DefaultWriteInterval, Timeout: DefaultWriteTimeout}
				if p.Name() != probe.APIWrite || p.Schedule() != want || p.o.Namespace != DefaultNamespace {
					t.Errorf("%s %+v %s", p.Name(), p.Schedule(), p.o.Namespace)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
