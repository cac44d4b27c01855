package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/kind"
)

// guardTarget refuses a target kdrill may not drill (config.Guard), and
// asks a person to confirm by typing the target's name when the guard
// wants that. It runs before anything reads or touches the target.
func guardTarget(ctx context.Context, cfg *config.Config, o runOptions, stdin io.Reader, lines *lineReader, out io.Writer, log *slog.Logger) error {
	t := cfg.Target
	facts := config.Facts{Interactive: isTerminal(stdin)}
	if t.Provider == config.Kind {
		// A cluster that is not there is the plainer mistake to report.
		if exists, err := kind.Exists(t.Name); err == nil && !exists {
			return &kind.UserError{Msg: fmt.Sprintf("cluster %q is not up; run 'kdrill cluster up --name %s' first", t.Name, t.Name)}
		}
		ko := kind.Options{Name: t.Name, StateDir: o.stateDir}
		facts.CreatedByKdrill = kind.CreatedByKdrill(ko)
		facts.Marker = kind.MarkerPath(ko)
	}
	// The guard checks the config's account_id against the allow-list;
	// openTarget then checks that the credentials are for that account.
	d, err := config.Guard(t, cfg.Allow, facts, o.yes)
	if err != nil {
		return err
	}
	if d.Confirm != "" {
		if err := confirm(ctx, lines, out, t); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted at the confirmation: nothing was touched")
			}
			return err
		}
		d.Because += ", confirmed by typing its name"
	}
	if o.dryRun {
		d.Because = strings.TrimSuffix(d.Because, ", confirmed by --yes") + ", a dry run (changes nothing)"
	}
	log.Info("target", "target", t.Describe(), "allowed", d.Because)
	return nil
}
