package faults

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness"
)

// recorder is a fault that only notes what it was asked to do, and checks
// that the journal holds its entry before Apply runs.
type recorder struct {
	j          *Journal
	applyErr   error
	revertErr  error
	calls      []string
	pendingAtA int
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Plan(context.Context, harness.Target) (Params, error) {
	r.calls = append(r.calls, "plan")
	return Params{"k": "v"}, nil
}
func (r *recorder) Apply(context.Context, harness.Target, Params) error {
	p, _ := r.j.Pending()
	r.pendingAtA = len(p)
	r.calls = append(r.calls, "apply")
	return r.applyErr
}
func (r *recorder) Revert(_ context.Context, _ harness.Target, p Params) error {
	r.calls = append(r.calls, "revert:"+p["k"])
	return r.revertErr
}

func TestInject(t *testing.T) {
	ctx := context.Background()
	ref := Ref{Provider: "kind", Name: "x"}
	tests := []struct {
		name             string
		applyErr, revErr error
		wantCalls        []string
		wantPendingAfter int
		wantErr          bool
	}{
		{"applied then reverted", nil, nil, []string{"plan", "applying", "apply", "revert:v"}, 0, false},
		{"failed apply is reverted", errors.New("boom"), nil, []string{"plan", "applying", "apply", "revert:v"}, 0, true},
		{"failed revert stays journaled", nil, errors.New("stuck"), []string{"plan", "applying", "apply", "revert:v"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, _ := OpenJournal(filepath.Join(t.TempDir(), "j"))
			f := &recorder{j: j, applyErr: tt.applyErr, revertErr: tt.revErr}
			revert, err := Inject(ctx, j, ref, nil, f, func(time.Time) { f.calls = append(f.calls, "applying") })
			if err == nil {
				err = revert(ctx)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if f.pendingAtA != 1 {
				t.Errorf("journal held %d entries when Apply ran, want 1", f.pendingAtA)
			}
			if len(f.calls) != len(tt.wantCalls) {
				t.Fatalf("calls %v, want %v", f.calls, tt.wantCalls)
			}
			for i := range f.calls {
				if f.calls[i] != tt.wantCalls[i] {
					t.Fatalf("calls %v, want %v", f.calls, tt.wantCalls)
				}
			}
			p, _ := j.Pending()
			if len(p) != tt.wantPendingAfter {
				t.Errorf("pending after = %d, want %d", len(p), tt.wantPendingAfter)
			}
			var re *RevertError
			if tt.revErr != nil && !errors.As(err, &re) {
				t.Errorf("a failed revert must be a RevertError, got %T", err)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	ctx := context.Background()
	j, _ := OpenJournal(filepath.Join(t.TempDir(), "j"))
	mine, other := Ref{"kind", "a"}, Ref{"kind", "b"}
	j.Injected(Entry{ID: "1", Fault: "recorder", Target: mine, Params: Params{"k": "first"}})
	j.Injected(Entry{ID: "2", Fault: "recorder", Target: other, Params: Params{"k": "other"}})
	j.Injected(Entry{ID: "3", Fault: "recorder", Target: mine, Params: Params{"k": "second"}})
	f := &recorder{j: j}
	n, err := Recover(ctx, j, mine, nil, Registry{"recorder": f}, func(e Entry) {
		f.calls = append(f.calls, "heard:"+e.ID)
	})
	if err != nil || n != 2 {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	if want := []string{"heard:3", "revert:second", "heard:1", "revert:first"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %v, want %v: each entry heard of before its revert, newest first", f.calls, want)
	}
	// A second recover is a no-op.
	n, err = Recover(ctx, j, mine, nil, Registry{"recorder": f}, nil)
	if err != nil || n != 0 {
		t.Errorf("second Recover = %d, %v", n, err)
	}
	if p, _ := j.Pending(); len(p) != 1 || p[0].ID != "2" {
		t.Errorf("other cluster's entry must stay: %+v", p)
	}
	if _, err := Recover(ctx, j, other, nil, Registry{}, nil); err == nil {
		t.Error("unknown fault name: want an error")
	}
}

// striker is a fault whose node reports the moment it struck as skew away
// from the local clock, or the zero time when zero is set.
type striker struct {
	recorder
	skew time.Duration
	zero bool
	now  time.Time // the local time inside Strike
}

func (s *striker) Strike(ctx context.Context, t harness.Target, p Params) (time.Time, error) {
	s.now = time.Now()
	if err := s.Apply(ctx, t, p); err != nil {
		return time.Time{}, err
	}
	if s.zero {
		return time.Time{}, nil
	}
	return s.now.Add(s.skew), nil
}

func TestInjectStriker(t *testing.T) {
	ctx := context.Background()
	ref := Ref{Provider: "kind", Name: "x"}
	t.Run("the node's time when it lies within the strike", func(t *testing.T) {
		j, _ := OpenJournal(filepath.Join(t.TempDir(), "j"))
		f := &striker{recorder: recorder{j: j}}
		var got []time.Time
		if _, err := Inject(ctx, j, ref, nil, f, func(at time.Time) { got = append(got, at) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got[0].Equal(f.now) {
			t.Errorf("struck at %v, want once at the node's %v", got, f.now)
		}
	})
	for _, tt := range []struct {
		name string
		f    striker
		late bool // clamped to the end of the strike, not its start
	}{
		{"a node clock an hour slow is held to the strike's start", striker{skew: -time.Hour}, false},
		{"a node that cannot tell is the strike's start", striker{zero: true}, false},
		{"a node clock an hour fast is held to the strike's end", striker{skew: time.Hour}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j, _ := OpenJournal(filepath.Join(t.TempDir(), "j"))
			f := &tt.f
			f.j = j
			var got []time.Time
			before := time.Now()
			if _, err := Inject(ctx, j, ref, nil, f, func(at time.Time) { got = append(got, at) }); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			if len(got) != 1 {
				t.Fatalf("struck called %d times, want once", len(got))
			}
			if got[0].Before(before) || got[0].After(after) {
				t.Errorf("struck at %v, outside the Inject call [%v, %v]", got[0], before, after)
			}
			if tt.late != got[0].After(f.now) {
				t.Errorf("struck at %v; Strike ran at %v, want it after: %v", got[0], f.now, tt.late)
			}
		})
	}
	t.Run("a failed strike is reverted and reports no moment", func(t *testing.T) {
		j, _ := OpenJournal(filepath.Join(t.TempDir(), "j"))
		f := &striker{recorder: recorder{j: j, applyErr: errors.New("boom")}}
		called := false
		if _, err := Inject(ctx, j, ref, nil, f, func(time.Time) { called = true }); err == nil {
			t.Fatal("want the strike's error")
		}
		if called {
			t.Error("struck was called for a fault that did not strike")
		}
		if p, _ := j.Pending(); len(p) != 0 {
			t.Errorf("%d entries pending after the failed strike was reverted", len(p))
		}
	})
}

func TestNodeTime(t *testing.T) {
	for _, tt := range []struct {
		out  string
		want time.Time
	}{
		{"1796005199.123456789\n", time.Unix(1796005199, 123456789)},
		{"1796005199.000000001", time.Unix(1796005199, 1)},
		{"1796005199.N\n", time.Time{}}, // a date without %N
		{"1796005199", time.Time{}},
		{"", time.Time{}},
		{"-5.000000000", time.Time{}},
	} {
		if got := nodeTime([]byte(tt.out)); !got.Equal(tt.want) {
			t.Errorf("nodeTime(%q) = %v, want %v", tt.out, got, tt.want)
		}
	}
}
