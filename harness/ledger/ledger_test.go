package ledger

import (
	"reflect"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// w makes write seq issued at second seq, acknowledged 100ms later unless
// acked is false.
func w(seq uint64, acked bool) Write {
	x := Write{Seq: seq, Name: "cm", Start: t0.Add(time.Duration(seq) * time.Second)}
	if acked {
		x.Acked = x.Start.Add(100 * time.Millisecond)
		x.ResourceVersion = "rv"
	} else {
		x.Err = "timeout"
	}
	return x
}

func obs(seqs ...uint64) []Observed {
	var out []Observed
	for _, s := range seqs {
		out = append(out, Observed{Seq: s, ResourceVersion: "rv"})
	}
	return out
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		writes   []Write
		observed []Observed
		want     Report
		lost     []uint64
	}{
		{name: "nothing written"},
		{
			name:     "all present",
			writes:   []Write{w(1, true), w(2, true)},
			observed: obs(1, 2),
			want:     Report{Acknowledged: 2, Present: 2},
		},
		{
			name:     "tail lost after a restore",
			writes:   []Write{w(1, true), w(2, true), w(3, true), w(4, true)},
			observed: obs(1, 2),
			want:     Report{Acknowledged: 4, Present: 2, Lost: 2, Window: 1100 * time.Millisecond},
			lost:     []uint64{3, 4},
		},
		{
			name:     "one lost write spans its own round trip",
			writes:   []Write{w(1, true), w(2, true)},
			observed: obs(2),
			want:     Report{Acknowledged: 2, Present: 1, Lost: 1, Window: 100 * time.Millisecond},
			lost:     []uint64{1},
		},
		{
			name:     "unacknowledged writes count neither way",
			writes:   []Write{w(1, true), w(2, false), w(3, false), w(4, true)},
			observed: obs(1, 3, 4),
			want:     Report{Acknowledged: 2, Present: 2, Unacknowledged: 2, UnacknowledgedPresent: 1},
		},
		{
			name:     "everything gone",
			writes:   []Write{w(1, true), w(2, false), w(3, true)},
			observed: nil,
			want:     Report{Acknowledged: 2, Lost: 2, Unacknowledged: 1, Window: 2100 * time.Millisecond},
			lost:     []uint64{1, 3},
		},
		{
			name:     "objects the ledger never issued",
			writes:   []Write{w(1, true)},
			observed: obs(1, 99, 100),
			want:     Report{Acknowledged: 1, Present: 1, Unexpected: 2},
		},
		{
			name:     "a write read back twice is still one",
			writes:   []Write{w(1, true)},
			observed: obs(1, 1),
			want:     Report{Acknowledged: 1, Present: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Verify(tt.writes, tt.observed)
			var lost []uint64
			for _, l := range got.LostWrites {
				lost = append(lost, l.Seq)
			}
			got.LostWrites = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Verify() = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(lost, tt.lost) {
				t.Errorf("lost %v, want %v", lost, tt.lost)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	if Classify(w(1, true), true) != Present || Classify(w(1, true), false) != Lost ||
		Classify(w(1, false), true) != Indeterminate || Classify(w(1, false), false) != Indeterminate {
		t.Error("Classify")
	}
}

func TestLostBefore(t *testing.T) {
	r := Verify([]Write{w(1, true), w(2, true), w(3, true)}, obs(1))
	// A backup taken at second 2.05 holds write 1 only if writes 2 and 3
	// were acknowledged after it; write 2 was acknowledged at 2.1s.
	if n := r.LostBefore(t0.Add(2050 * time.Millisecond)); n != 0 {
		t.Errorf("LostBefore(backup) = %d, want 0", n)
	}
	if n := r.LostBefore(t0.Add(3 * time.Second)); n != 1 {
		t.Errorf("LostBefore(3s) = %d, want 1 (write 2 was acknowledged before)", n)
	}
}

func TestLedgerConcurrent(t *testing.T) {
	var l Ledger
	var wg sync.WaitGroup
	for i := uint64(1); i <= 50; i++ {
		wg.Go(func() { l.Record(w(i, i%2 == 0)) })
	}
	wg.Wait()
	ws := l.Writes()
	if len(ws) != 50 {
		t.Fatalf("%d writes", len(ws))
	}
	for i, x := range ws {
		if x.Seq != uint64(i+1) {
			t.Fatalf("writes not in sequence order at %d: %d", i, x.Seq)
		}
		if x.Acknowledged() != (x.Seq%2 == 0) {
			t.Errorf("write %d acknowledged = %v", x.Seq, x.Acknowledged())
		}
	}
}
