package main

import (
	"errors"
	"fmt"

	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness/aws"
	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/reports"
)

// journalPath is the undo journal shared by run and recover: the flag's
// file, or journal.jsonl in the state folder.
func journalPath(stateDir, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(stateDir, "journal.jsonl")
}

type runOptions struct {
	name, stateDir, journal, config, slo, out string
	scenarios                                 []string
	watchdogPeriod, backupEvery               time.Duration
	mitigationOff                             bool
	// run only
	yes, step, dryRun bool
	progress          string
}

// revertFailure is a fault the harness could not undo (exit code 3).
type revertFailure struct{ err error }

func (e *revertFailure) Error() string {
	return e.err.Error() + "; the cluster may still be broken: run 'kdrill recover', and if that fails too, undo the fault by hand (docs/cli.md)"
}

func (e *revertFailure) Unwrap() error { return e.err }

// sloFailed means every drill ran and at least one SLO did not hold (exit 1).
type sloFailed struct{ ids []string }

func (e *sloFailed) Error() string {
	return "SLO not met: " + strings.Join(e.ids, ", ")
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Drill the seed's scenarios against a running cluster and judge them against SLOs",
		Long: `Runs each chosen scenario in turn (all by default): probes the cluster healthy,
injects the fault, lets the mitigation act, reverts the fault, and judges
recovery against the SLOs. Writes DIR/results.json and DIR/junit.xml.
--config reads a drill config file (docs/config.md); flags given override it.
It drills only a kind cluster kdrill created or a target the config's
allow-list names, and refuses anything else before touching it.
Exit code 0 when every SLO holds, 1 when one does not, 2 on bad input
or a refused target, 3 when a fault could not be reverted.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDrills(cmd, o) },
	}
	f := cmd.Flags()
	addDrillFlags(cmd, &o)
	f.BoolVar(&o.yes, "yes", false, "run against a target that is not a local kind cluster without asking to type its name")
	f.BoolVar(&o.dryRun, "dry-run", false, "aws: print every AWS call that would change something, in the order the drills would make them, and make none (reads still go out); injects nothing")
	f.BoolVar(&o.step, "step", false, "pause before each phase of each scenario, say what it will do, and wait for Enter")
	f.StringVar(&o.progress, "progress", progressAuto, "live progress on standard error: auto, tty (redrawn in place), plain (lines, for logs) or off")
	f.StringVar(&o.stateDir, "state-dir", kind.DefaultStateDir(), "folder for kubeconfigs, etcd data and the undo journal")
	f.StringVar(&o.journal, "journal", "", "undo journal file (default <state-dir>/journal.jsonl)")
	f.StringVar(&o.out, "out", "kdrill-out", "folder for results.json, report.html and junit.xml")
	return cmd
}

// addDrillFlags defines the flags that say what to drill and how, shared
// by run and plan.
func addDrillFlags(cmd *cobra.Command, o *runOptions) {
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "drill config file, kdrill.yaml (docs/config.md); flags given override it")
	f.StringVar(&o.name, "name", kind.DefaultName, "cluster name (target.name)")
	f.StringSliceVar(&o.scenarios, "scenario", nil, "scenario to drill (repeatable; default: the config's, else all): "+strings.Join(drill.Scenarios(), ", "))
	f.StringVar(&o.slo, "slo", "", "SLO file (YAML, the format of the config's slo:, docs/config.md); replaces the config's SLOs; default: the built-in SLOs")
	f.DurationVar(&o.watchdogPeriod, "watchdog-period", drill.DefaultWatchdog.Period, "status-check period of the vm-shutdown watchdog (2 of 2 failed checks reboot)")
	f.DurationVar(&o.backupEvery, "backup-interval", drill.DefaultBackupInterval, "how often etcd is snapshotted during etcd-data-loss and network-partition (the RPO bound is one interval)")
	f.BoolVar(&o.mitigationOff, "mitigation-off", false, "switch every scenario's mitigation off (the drills then show what happens without it, and fail)")
}

// drillConfig reads the --config file (or starts from the defaults) and
// applies on top of it every drill flag given on the command line: flags
// override the file, flags left out do not.
func drillConfig(cmd *cobra.Command, o runOptions) (*config.Config, error) {
	cfg := config.Default()
	if o.config != "" {
		var err error
		if cfg, err = config.Load(o.config); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(config.FileName); err == nil {
		// Not read by itself: a config found lying around must not widen
		// what kdrill may act on (its allow-list) behind anyone's back.
		fmt.Fprintf(cmd.ErrOrStderr(), "note: ./%s is not read without --config %s\n", config.FileName, config.FileName)
	}
	f := cmd.Flags()
	if f.Changed("name") {
		if err := config.ValidName(cfg.Target.Provider, o.name); err != nil {
			return nil, &usageError{fmt.Sprintf("--name: %v", err)}
		}
		cfg.Target.Name = o.name
	}
	if f.Changed("scenario") {
		var chosen []config.Scenario
		for _, id := range o.scenarios {
			if !drill.Known(id) {
				return nil, &usageError{fmt.Sprintf("unknown scenario %q; known: %s", id, strings.Join(drill.Scenarios(), ", "))}
			}
			chosen = append(chosen, cfg.Scenario(id)) // the file's parameters still apply
		}
		if len(chosen) > 0 {
			cfg.Scenarios = chosen
		}
	}
	if f.Changed("slo") {
		s, err := slo.Load(o.slo)
		if err != nil {
			return nil, err
		}
		cfg.SLO = s
	}
	if f.Changed("watchdog-period") {
		if o.watchdogPeriod < config.MinWatchdogPeriod {
			return nil, &usageError{fmt.Sprintf("--watchdog-period %s is below %s", o.watchdogPeriod, config.MinWatchdogPeriod)}
		}
		cfg.Mitigations.Watchdog.Period = o.watchdogPeriod
	}
	if f.Changed("backup-interval") {
		if o.backupEvery < config.MinBackupInterval {
			return nil, &usageError{fmt.Sprintf("--backup-interval %s is below %s", o.backupEvery, config.MinBackupInterval)}
		}
		cfg.Mitigations.Backups.Interval = o.backupEvery
	}
	if f.Changed("mitigation-off") {
		cfg.SetMitigations(!o.mitigationOff)
	}
	return cfg, nil
}

func runDrills(cmd *cobra.Command, o runOptions) error {
	ctx := cmd.Context()
	cfg, err := drillConfig(cmd, o)
	if err != nil {
		return err
	}
	if o.dryRun {
		return dryRunDrills(cmd, cfg, o)
	}
	out, err := newView(o.progress, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	log := newLogger(out)
	stdin := newLineReader(cmd.InOrStdin())
	if err := guardTarget(ctx, cfg, o, cmd.InOrStdin(), stdin, out, log); err != nil {
		return err
	}
	j, err := faults.OpenJournal(journalPath(o.stateDir, o.journal))
	if err != nil {
		return err
	}
	pending, err := j.Pending()
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return &usageError{fmt.Sprintf("the undo journal %s holds %d unreverted fault(s) (first: %s on %s); run 'kdrill recover' first", j.Path(), len(pending), pending[0].Fault, pending[0].Target.Name)}
	}
	target, k8sVersion, err := openTarget(ctx, cfg, o.stateDir, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create output folder: %w", err)
	}

	env := drill.Env{Target: target, Ref: faults.Ref{Provider: cfg.Target.Provider, Name: cfg.Target.Name}, Journal: j}
	var step *stepper
	if o.step {
		step = &stepper{in: stdin, out: out}
	}
	file := &results.File{Schema: results.Schema, Run: results.Run{
		KdrillVersion: version, Provider: cfg.Target.Provider, KubernetesVersion: k8sVersion, Start: time.Now(),
	}}
	var failedIDs []string
	var revertErr error
	for _, id := range cfg.IDs() {
		if ctx.Err() != nil || (step != nil && step.ended) {
			break
		}
		opts := cfg.Options(id)
		opts.Logger = log
		if _, off := out.(offView); !off {
			opts.Progress = out.Update
		}
		if step != nil {
			opts.BeforePhase = step.before
		}
		fmt.Fprintf(out, "=== %s\n", id)
		res, err := drill.Run(ctx, env, id, opts)
		file.Scenarios = append(file.Scenarios, res)
		fmt.Fprintf(out, "--- %s: %s%s\n", id, strings.ToUpper(string(res.Verdict)), reasonSuffix(res.Reason))
		if res.Verdict != slo.Pass {
			failedIDs = append(failedIDs, id)
		}
		if err != nil {
			revertErr = err
			break // one fault at a time: never inject another over a broken cluster
		}
	}
	file.Run.End = time.Now()
	if err := writeOutputs(o.out, file); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "results: %s\nreport:  %s\n", filepath.Join(o.out, "results.json"), filepath.Join(o.out, "report.html"))
	switch {
	case revertErr != nil:
		return &revertFailure{revertErr}
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: every injected fault was reverted; partial results written")
	case step != nil && step.ended:
		return fmt.Errorf("stopped: %v; every injected fault was reverted; partial results written", errInputEnded)
	case len(failedIDs) > 0:
		return &sloFailed{failedIDs}
	}
	return nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// writeOutputs writes the results file and its renderings: the HTML
// report and JUnit XML.
func writeOutputs(dir string, f *results.File) error {
	path := filepath.Join(dir, "results.json")
	if err := results.Write(path, f); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return reports.Write(reports.Paths{HTML: filepath.Join(dir, "report.html"), JUnit: filepath.Join(dir, "junit.xml")}, f, reports.Options{Source: path})
}

func newRecoverCmd() *cobra.Command {
	var stateDir, journal, cfgPath string
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Revert every fault the undo journal still holds (after a crash of kdrill)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			j, err := faults.OpenJournal(journalPath(stateDir, journal))
			if err != nil {
				return err
			}
			pending, err := j.Pending()
			if err != nil {
				return err
			}
			if len(pending) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to recover: the undo journal holds no unreverted fault")
				return nil
			}
			// No guard here: recover only reverts what the journal says
			// kdrill itself injected.
			done := map[faults.Ref]bool{}
			total := 0
			for _, e := range pending {
				if done[e.Target] {
					continue
				}
				done[e.Target] = true
				// A kind cluster is reached by its name; an AWS target
				// needs the config that named it (its tags, region).
				cfg := &config.Config{Target: config.Target{Provider: e.Target.Provider, Name: e.Target.Name}}
				switch e.Target.Provider {
				case config.Kind:
				case config.AWS:
					if cfgPath == "" {
						return errUnreachable(e, "pass the drill config that names this AWS target with --config")
					}
					c, err := config.Load(cfgPath)
					if err != nil {
						return err
					}
					if c.Target.Provider != config.AWS || c.Target.Name != e.Target.Name {
						return errUnreachable(e, fmt.Sprintf("%s names %s target %q, not this one", cfgPath, c.Target.Provider, c.Target.Name))
					}
					cfg = c
				default:
					return errUnreachable(e, "this kdrill knows no such provider")
				}
				target, _, err := openTarget(ctx, cfg, stateDir, nil)
				if err != nil {
					var ue *kind.UserError
					var ae *aws.UserError
					if errors.As(err, &ue) || errors.As(err, &ae) {
						return errUnreachable(e, "cannot reach it: "+err.Error())
					}
					return err
				}
				n, err := faults.Recover(ctx, j, e.Target, target, registry(e.Target.Provider), func(e faults.Entry) {
					fmt.Fprintf(cmd.ErrOrStderr(), "reverting %s on %s %s (journal entry %s, injected %s)\n",
						e.Fault, e.Target.Provider, e.Target.Name, e.ID, e.InjectedAt.Local().Format(time.DateTime))
				})
				total += n
				if err != nil {
					return &revertFailure{err}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reverted %d fault(s)\n", total)
			return nil
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", kind.DefaultStateDir(), "folder holding the undo journal and the clusters' state")
	cmd.Flags().StringVar(&cfgPath, "config", "", "drill config naming the AWS target of journal entries for provider aws (kind clusters need none)")
	cmd.Flags().StringVar(&journal, "journal", "", "undo journal file (default <state-dir>/journal.jsonl)")
	return cmd
}
