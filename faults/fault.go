package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/kdrill/kdrill/harness"
)

// Fault is one kind of failure. Plan looks at the target and works out
// what Apply will do and what Revert will need, without changing anything;
// the journal stores that record before Apply runs. Revert must be
// idempotent: it may run after a partial Apply, twice, or from another
// process.
type Fault interface {
	Name() string
	Plan(ctx context.Context, t harness.Target) (Params, error)
	Apply(ctx context.Context, t harness.Target, p Params) error
	Revert(ctx context.Context, t harness.Target, p Params) error
}

// Revert undoes one injection.
type Revert func(ctx context.Context) error

// Striker is a Fault that can tell when it struck. Strike does what Apply
// does and returns the moment the fault took effect, read on the node right
// after it (a kill: after the signal was sent), or the zero time if the
// node could not tell. Without it, the only moment known is the start of
// Apply, and every exec or API call that delivers the fault is counted as
// outage: a docker exec on a busy machine takes a few hundred milliseconds,
// an SSM command seconds.
type Striker interface {
	Strike(ctx context.Context, t harness.Target, p Params) (time.Time, error)
}

// Inject plans f, journals it, applies it, and returns the function that
// reverts it and marks the journal entry done. If Apply fails, whatever it
// did is reverted before Inject returns the error.
//
// struck, if not nil, is called once with the moment the fault took
// effect: for a Striker, after it struck, with the node's reading kept
// within the local times Strike began and returned (a node clock that is
// off cannot move it further); for any other fault, right before Apply,
// with the time then. Planning and the journal's fsync come first and take
// time; a drill measuring from the moment of the fault wants the later
// instant.
func Inject(ctx context.Context, j *Journal, ref Ref, t harness.Target, f Fault, struck func(at time.Time)) (Revert, error) {
	p, err := f.Plan(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", f.Name(), err)
	}
	e := Entry{ID: newID(), Fault: f.Name(), Target: ref, Params: p, InjectedAt: time.Now()}
	if err := j.Injected(e); err != nil {
		return nil, fmt.Errorf("journal %s before injecting it: %w", f.Name(), err)
	}
	revert := func(ctx context.Context) error {
		if err := f.Revert(ctx, t, p); err != nil {
			return &RevertError{Fault: f.Name(), ID: e.ID, Err: err}
		}
		return j.Reverted(e.ID)
	}
	if struck == nil {
		struck = func(time.Time) {}
	}
	if s, ok := f.(Striker); ok {
		began := time.Now()
		var at time.Time
		at, err = s.Strike(ctx, t, p)
		if err == nil {
			struck(within(at, began, time.Now()))
		}
	} else {
		struck(time.Now())
		err = f.Apply(ctx, t, p)
	}
	if err != nil {
		// The context may be what failed; the undo gets a fresh one.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if rerr := revert(rctx); rerr != nil {
			return nil, errors.Join(fmt.Errorf("inject %s: %w", f.Name(), err), rerr)
		}
		return nil, fmt.Errorf("inject %s: %w", f.Name(), err)
	}
	return revert, nil
}

// within is at kept between lo and hi; the zero time is lo.
func within(at, lo, hi time.Time) time.Time {
	switch {
	case at.Before(lo):
		return lo
	case at.After(hi):
		return hi
	}
	return at
}

// RevertError says a fault could not be undone: the cluster may still be
// broken and the journal keeps the entry for 'kdrill recover'.
type RevertError struct {
	Fault, ID string
	Err       error
}

func (e *RevertError) Error() string {
	return fmt.Sprintf("revert %s (journal entry %s): %v", e.Fault, e.ID, e.Err)
}

func (e *RevertError) Unwrap() error { return e.Err }

// Registry maps fault names to faults, for reverting journal entries.
type Registry map[string]Fault

// Recover reverts every pending journal entry for ref, oldest last (the
// reverse of injection). It returns how many it reverted; on the first
// failure it stops and the rest stay in the journal. reverting, if not
// nil, hears of each entry before its revert starts (some take minutes).
func Recover(ctx context.Context, j *Journal, ref Ref, t harness.Target, reg Registry, reverting func(Entry)) (int, error) {
	pending, err := j.Pending()
	if err != nil {
		return 0, err
	}
	n := 0
	for i := len(pending) - 1; i >= 0; i-- {
		e := pending[i]
		if e.Target != ref {
			continue
		}
		f, ok := reg[e.Fault]
		if !ok {
			return n, fmt.Errorf("journal entry %s: unknown fault %q", e.ID, e.Fault)
		}
		if reverting != nil {
			reverting(e)
		}
		if err := f.Revert(ctx, t, e.Params); err != nil {
			return n, &RevertError{Fault: e.Fault, ID: e.ID, Err: err}
		}
		if err := j.Reverted(e.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// All returns every fault kdrill can inject, by name, for Recover: each
// reverts from its journal entry's params alone.
func All() Registry {
	return Registry{
		"apiserver-crash":     APIServerCrash(),
		"kubelet-crash":       KubeletCrash(),
		"vm-shutdown":         &MachineStop{},
		"vm-crash":            &MachineCrash{},
		"etcd-data-loss":      &EtcdDataLoss{},
		"network-partition":   &Partition{},
		"control-plane-fence": &ControlPlaneFence{},
	}
}
