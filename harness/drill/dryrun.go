package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// DryRunError says a dry run found a step the real drill would fail at.
type DryRunError struct {
	Scenario, Step string
	Err            error
}

func (e *DryRunError) Error() string {
	return fmt.Sprintf("%s would fail at %q: %v", e.Scenario, e.Step, e.Err)
}

func (e *DryRunError) Unwrap() error { return e.Err }

// DryRun takes, in the order Run takes them, the steps of scenario id that
// change the target: the mitigation put in place before the fault, the
// first etcd backup, the fault's injection, kdrill's own runbook and the
// revert. It writes a heading for each to w first. It is for a target that
// holds its changes back (aws.Options.DryRun), which writes each call it
// would have made, and fails it with an error wrapping harness.ErrDryRun.
// Probing, and the reads that watch the fault and the recovery, are left
// out; nothing is journaled.
//
// A step that fails for another reason ends the scenario as the real
// drill would end, with a DryRunError. A step that needs what an earlier
// held-back step would have made (a backup to restore) may fail for that
// alone: such a failure is written as a note and the dry run goes on.
func DryRun(ctx context.Context, env Env, id string, o Options, w io.Writer) error {
	o = o.withDefaults()
	sc, ok := scenarios[id]
	if !ok {
		return fmt.Errorf("unknown scenario %q", id)
	}
	d := &run{env: env, id: id, sc: sc, o: o, log: o.Logger.With("scenario", id, "dry_run", true)}
	d.events = timeline.NewEventLog(clock.Real(), d.log)
	dr := &dryRun{d: d, w: w}

	nodes, err := env.Target.Nodes(ctx)
	if err != nil {
		return &DryRunError{id, "list nodes", err}
	}
	cps := harness.ByRole(nodes, harness.RoleControlPlane)
	if len(cps) != 1 {
		return &DryRunError{id, "list nodes", fmt.Errorf("want one control-plane node, found %d", len(cps))}
	}
	d.cp, d.cpNode = cps[0].Name, cps[0]
	if sc.needsWorkers && len(harness.ByRole(nodes, harness.RoleWorker)) == 0 {
		return &DryRunError{id, "list nodes", fmt.Errorf("%s needs worker nodes; the cluster has none", id)}
	}
	_, d.o.PlatformAlarm = env.Target.(StatusAlarms)
	plan, _ := Plan(id, d.cp, d.o)

	if sc.watchdog && !o.MitigationOff {
		if a, ok := env.Target.(StatusAlarms); ok {
			if err := dr.step("put the status-check alarm in place on "+d.cp, "", func() error { return d.ensureAlarm(ctx, a) }); err != nil {
				return err
			}
		} else {
			dr.note("kdrill's own status-check watchdog watches " + d.cp + "; it calls the target only to reboot it")
		}
	}
	remote, _ := env.Target.(faults.EtcdBackups)
	const backupStep = "take the first etcd backup"
	if sc.backups {
		rp, canReprovision := remote.(faults.ControlPlaneReprovisioner)
		switch {
		case remote != nil && sc.reprovision && !canReprovision:
			return dr.fail(backupStep, errOwnBackups(id))
		case remote != nil:
			if err := dr.step(fmt.Sprintf("%s (then one every %s)", backupStep, o.BackupInterval), "",
				func() error { _, err := remote.BackupEtcd(ctx, d.cp); return err }); err != nil {
				return err
			}
			if sc.reprovision {
				if err := dr.step("back up the control plane's certificates and configuration", "",
					func() error { _, err := rp.BackupControlPlaneFiles(ctx, d.cp); return err }); err != nil {
					return err
				}
			}
		default:
			dr.note("etcd is snapshotted through its client port into a folder here: no call to the target's platform")
		}
	}

	fault := sc.fault(d)
	// Only the loss of etcd's data refuses to be planned, and is reverted,
	// from a backup.
	needsBackup := ""
	if _, ok := fault.(*faults.EtcdDataLoss); ok {
		needsBackup = backupStep
	}
	var params faults.Params
	if err := dr.step("plan "+fault.Name()+" (reads only)", needsBackup, func() error {
		var err error
		params, err = fault.Plan(ctx, env.Target)
		return err
	}); err != nil {
		return err
	}
	if params == nil {
		return nil // a note said why the plan could not be made
	}
	if err := dr.step("inject "+fault.Name()+": "+plan.Fault, "", func() error { return fault.Apply(ctx, env.Target, params) }); err != nil {
		return err
	}

	if sc.act != nil && !o.MitigationOff {
		switch {
		case id == slo.EtcdDataLoss && remote != nil:
			if err := dr.step("restore the newest backup on "+d.cp+", once the API server fails", backupStep, func() error {
				key, err := remote.LatestEtcdBackup(ctx)
				if err != nil {
					return err
				}
				return remote.RestoreEtcdBackup(ctx, d.cp, key)
			}); err != nil {
				return err
			}
		default:
			dr.note("the runbook: " + plan.Mitigation)
		}
	} else if !sc.watchdog {
		dr.note("the mitigation: " + plan.Mitigation)
	}
	revert := "revert " + fault.Name() + " (" + plan.Revert + ")"
	if !strings.HasPrefix(plan.Revert, "nothing") {
		revert = "revert " + fault.Name() + " (" + plan.Revert + "; it looks first, and the target as it stands now may need nothing)"
	}
	return dr.step(revert, needsBackup,
		func() error { return fault.Revert(ctx, env.Target, params) })
}

// dryRun writes the headings of a dry run and tells held-back calls from
// failures.
type dryRun struct {
	d *run
	w io.Writer
	n int
	// held names the steps whose calls the target held back.
	held map[string]bool
}

func (r *dryRun) note(s string) { fmt.Fprintf(r.w, "  (%s)\n", s) }

// step takes one step. needs names an earlier step it depends on: if that
// one's calls were held back, a failure here is a note, not a finding.
func (r *dryRun) step(what, needs string, do func() error) error {
	r.n++
	fmt.Fprintf(r.w, "# %d. %s\n", r.n, what)
	err := do()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, harness.ErrDryRun):
		if r.held == nil {
			r.held = map[string]bool{}
		}
		r.held[baseStep(what)] = true
		return nil
	case needs != "" && r.held[needs]:
		r.note(fmt.Sprintf("not followed further: %v; a real run would have done %q first", err, needs))
		return nil
	default:
		return r.fail(what, err)
	}
}

// fail writes what the real drill would fail at, and returns it.
func (r *dryRun) fail(what string, err error) error {
	fmt.Fprintf(r.w, "  ! %s: %v\n", what, err)
	return &DryRunError{r.d.id, what, err}
}

// baseStep is a step's name without what its heading adds in parentheses.
func baseStep(what string) string {
	if i := strings.Index(what, " ("); i >= 0 {
		return what[:i]
	}
	return what
}
