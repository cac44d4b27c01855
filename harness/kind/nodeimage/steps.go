package nodeimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// StepError says which build step failed, why, and where its log is.
type StepError struct {
	Step string
	Log  string
	Err  error
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("image build step %q failed: %v", e.Step, e.Err)
	if e.Log != "" {
		msg += " (log: " + e.Log + ")"
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// Tail returns the last lines of the failed step's log, for printing.
func (e *StepError) Tail(lines int) string {
	data, err := os.ReadFile(e.Log)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// stepper runs the build's steps in order, reports progress on out and keeps
// one log file per step under logDir.
type stepper struct {
	out    io.Writer
	logDir string
	total  int
	n      int
	// log is the current step's log file; commands append to it.
	log *os.File
}

// step runs fn as the next numbered step. fn returns whether the step's
// output came from the cache.
func (s *stepper) step(ctx context.Context, name string, fn func(ctx context.Context) (cached bool, err error)) error {
	s.n++
	if err := os.MkdirAll(s.logDir, 0o755); err != nil {
		return fmt.Errorf("create log dir: %w", err)
	}
	logPath := filepath.Join(s.logDir, fmt.Sprintf("%02d-%s.log", s.n, slug(name)))
	f, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create step log: %w", err)
	}
	s.log = f
	defer func() { f.Close(); s.log = nil }()

	fmt.Fprintf(s.out, "[%d/%d] %s ...\n", s.n, s.total, name)
	start := time.Now()
	cached, err := fn(ctx)
	took := time.Since(start).Round(100 * time.Millisecond)
	if err != nil {
		fmt.Fprintf(s.out, "[%d/%d] %s FAILED after %s\n", s.n, s.total, name, took)
		return &StepError{Step: name, Log: logPath, Err: err}
	}
	how := "done"
	if cached {
		how = "cached"
	}
	fmt.Fprintf(s.out, "[%d/%d] %s %s (%s)\n", s.n, s.total, name, how, took)
	return nil
}

// run executes a command, logging its command line and output to the step log.
// The error carries the last line of output, which is usually the reason.
func (s *stepper) run(ctx context.Context, dir string, env []string, stdin io.Reader, name string, args ...string) error {
	_, err := s.output(ctx, dir, env, stdin, name, args...)
	return err
}

// output is run that also returns the command's standard output.
func (s *stepper) output(ctx context.Context, dir string, env []string, stdin io.Reader, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, tail bytes.Buffer
	logw := io.Writer(io.Discard)
	if s.log != nil {
		logw = s.log
		fmt.Fprintf(s.log, "$ %s %s\n", name, strings.Join(args, " "))
	}
	cmd.Stdout = io.MultiWriter(&stdout, logw)
	cmd.Stderr = io.MultiWriter(&tail, logw)
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		reason := lastLine(tail.String())
		if reason == "" {
			reason = lastLine(stdout.String())
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && reason != "" {
			return "", fmt.Errorf("%s %s: %s", filepath.Base(name), firstArg(args), reason)
		}
		return "", fmt.Errorf("%s %s: %w", filepath.Base(name), firstArg(args), err)
	}
	return stdout.String(), nil
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
