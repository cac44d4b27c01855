package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/drill"
)

// lineReader reads standard input a line at a time for the prompts of
// one command (the confirmation, --step), all from one buffer. Its reading
// goroutine starts at the first prompt and ends at the end of the input:
// a read from a terminal cannot be cancelled, so a prompt abandoned by
// Ctrl-C leaves it waiting until the process exits.
type lineReader struct {
	r     io.Reader
	once  sync.Once
	lines chan string
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r, lines: make(chan string)}
}

// next returns the next line; ok is false at the end of the input. It
// gives up when ctx ends.
func (l *lineReader) next(ctx context.Context) (line string, ok bool, err error) {
	l.once.Do(func() {
		go func() {
			defer close(l.lines)
			sc := bufio.NewScanner(l.r)
			for sc.Scan() {
				l.lines <- sc.Text()
			}
		}()
	})
	select {
	case line, ok := <-l.lines:
		return line, ok, nil
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
}

// errInputEnded stops a --step run whose standard input ended.
var errInputEnded = errors.New("standard input ended (--step waits for Enter before each phase)")

// stepper pauses a drill before each phase (--step) until a person
// presses Enter.
type stepper struct {
	in    *lineReader
	out   view
	ended bool // standard input ended at a pause: stop the whole run
}

// before is a drill.Options.BeforePhase: it says what the phase will do
// and what to watch, and waits for Enter.
func (s *stepper) before(ctx context.Context, scenario string, phase drill.Phase, n drill.Narration) error {
	s.out.Hold()
	defer s.out.Release()
	fmt.Fprintf(s.out, "\n[%s] next: %s\n  do:    %s\n", scenario, phase, n.Do)
	if n.Watch != "" {
		fmt.Fprintf(s.out, "  watch: %s\n", n.Watch)
	}
	fmt.Fprint(s.out, "Press Enter to go on (Ctrl-C stops, reverting whatever is injected): ")
	_, ok, err := s.in.next(ctx)
	if err != nil {
		fmt.Fprintln(s.out)
		return err
	}
	if !ok {
		fmt.Fprintln(s.out)
		s.ended = true
		return errInputEnded
	}
	return nil
}

// confirm asks a person to type the name of target t before a run that
// is not against a local kind cluster, and checks the answer.
func confirm(ctx context.Context, in *lineReader, out io.Writer, t config.Target) error {
	fmt.Fprintf(out, "kdrill is about to inject faults into %s.\nType the target's name (%s) to go on: ", t.Describe(), t.Name)
	line, ok, err := in.next(ctx)
	if err != nil {
		fmt.Fprintln(out)
		return err
	}
	if !ok {
		fmt.Fprintln(out)
	}
	return config.CheckConfirmation(t, line, ok)
}
