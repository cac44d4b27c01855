package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/drill"
)

// dryRunDrills is 'kdrill run --dry-run': the target is guarded and
// reached as for a run, then each scenario's steps that would change it
// are taken against a provider that holds every such AWS call back and
// prints it on standard output. Nothing is injected or journaled, so no
// --yes is needed; the allow-list and the account check still apply.
func dryRunDrills(cmd *cobra.Command, cfg *config.Config, o runOptions) error {
	if cfg.Target.Provider != config.AWS {
		return &usageError{"--dry-run prints AWS calls, and a kind target makes none; 'kdrill plan' says what a run on it would do"}
	}
	if o.step {
		return &usageError{"--dry-run and --step: a dry run does not pause; pick one"}
	}
	ctx := cmd.Context()
	log := newLogger(cmd.ErrOrStderr())
	o.yes = true // nothing will be changed, so there is nothing to confirm
	if err := guardTarget(ctx, cfg, o, cmd.InOrStdin(), newLineReader(cmd.InOrStdin()), cmd.ErrOrStderr(), log); err != nil {
		return err
	}
	out := &callCounter{w: cmd.OutOrStdout()}
	target, _, err := openTarget(ctx, cfg, o.stateDir, out)
	if err != nil {
		return err
	}
	env := drill.Env{Target: target, Ref: faults.Ref{Provider: cfg.Target.Provider, Name: cfg.Target.Name}}
	var failed []string
	var firstErr error
	for _, id := range cfg.IDs() {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: nothing was changed")
		}
		fmt.Fprintf(out, "=== %s\n", id)
		opts := cfg.Options(id)
		opts.Logger = log
		if err := drill.DryRun(ctx, env, id, opts, out); err != nil {
			var de *drill.DryRunError
			if !errors.As(err, &de) {
				return err
			}
			failed = append(failed, id)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	fmt.Fprintf(out, "dry run: %d AWS call(s) printed, none made; reads (Describe*, List*, Get*) went out\n", out.calls)
	if firstErr != nil {
		// A run would stop at the same step: the scenario would error,
		// as a failed SLO does (exit 1); a bad target is a usage error.
		return fmt.Errorf("dry run: %d scenario(s) would not run (%s): %w", len(failed), strings.Join(failed, ", "), firstErr)
	}
	return nil
}

// callCounter counts the AWS calls the dry-run middleware writes: one
// line each, starting "aws ".
type callCounter struct {
	w     io.Writer
	calls int
}

func (c *callCounter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("aws ")) {
			c.calls++
		}
	}
	return c.w.Write(p)
}
