// Command kdrill runs chaos and disaster-recovery drills against Kubernetes
// control planes: it builds and brings up local kind clusters, injects
// faults, watches what users would see, and judges recovery against SLOs.
//
// The command line uses cobra: kind, which kdrill embeds as a library,
// already depends on it, so nested subcommands ("image build", "cluster up")
// and their help come at no extra dependency.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/harness/aws"
	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/input"
	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in docs/cli.md.
const (
	exitOK       = 0
	exitFailed   = 1 // the command failed (for run: an SLO failed)
	exitUsage    = 2 // bad input: flags, config, targets; the message says what to fix
	exitNoRevert = 3
)

// usageError marks mistakes on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	os.Exit(report(err))
}

// report prints err as one line (plus a failed step's log tail) and returns
// the exit code.
func report(err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "kdrill: %v\n", err)
	var step *nodeimage.StepError
	if errors.As(err, &step) {
		if tail := step.Tail(20); tail != "" {
			fmt.Fprintf(os.Stderr, "--- last lines of %s ---\n%s\n", step.Log, tail)
		}
	}
	return exitCode(err)
}

func exitCode(err error) int {
	if strings.HasPrefix(err.Error(), "unknown command") {
		return exitUsage // cobra's own, not a flag error
	}
	var (
		u  *usageError
		ku *kind.UserError
		nu *nodeimage.UserError
		rf *revertFailure
		gr *config.RefusedError
		au *aws.UserError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &rf):
		return exitNoRevert
	case errors.As(err, &u), errors.As(err, &ku), errors.As(err, &nu), errors.As(err, &gr), errors.As(err, &au), input.Is(err):
		return exitUsage
	default:
		return exitFailed
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "kdrill",
		Short:         "Chaos and disaster-recovery drills for Kubernetes control planes",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "progress log format: text, or json for machines")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if logFormat != "text" && logFormat != "json" {
			return &usageError{fmt.Sprintf("--log-format %q: want text or json", logFormat)}
		}
		return nil
	}
	root.AddCommand(newImageCmd(), newClusterCmd(), newPlanCmd(), newRunCmd(), newRecoverCmd())
	root.AddCommand(newReportCmd(), newAuditCmd())
	return root
}

// logFormat is the --log-format flag.
var logFormat = "text"

// newLogger writes progress logs to w in the chosen format.
func newLogger(w io.Writer) *slog.Logger {
	if logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Sprintf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
