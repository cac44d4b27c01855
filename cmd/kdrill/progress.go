package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/timeline"
)

// The --progress modes.
const (
	progressAuto  = "auto"
	progressTTY   = "tty"
	progressPlain = "plain"
	progressOff   = "off"
)

// view is where 'kdrill run' writes while drilling: log lines and messages
// go through Write, the drill's live status through Update.
type view interface {
	io.Writer
	// Update shows s.
	Update(s drill.Status)
	// Hold takes the live status off the screen until Release, while a
	// prompt waits for a person.
	Hold()
	Release()
}

// newView returns the view for --progress mode on w. auto is tty on a
// terminal, plain elsewhere (CI logs), and off with --log-format json,
// whose readers expect nothing but JSON on standard error.
func newView(mode string, w io.Writer) (view, error) {
	switch mode {
	case progressAuto:
		switch {
		case logFormat == "json":
			mode = progressOff
		case isTerminal(w) && os.Getenv("TERM") != "dumb":
			mode = progressTTY
		default:
			mode = progressPlain
		}
		return newView(mode, w)
	case progressTTY:
		width := 0
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
				width = cols
			}
		}
		return &ttyView{w: w, width: width}, nil
	case progressPlain:
		return &plainView{w: w, every: 5 * time.Second}, nil
	case progressOff:
		return offView{w}, nil
	}
	return nil, &usageError{fmt.Sprintf("--progress %q: want auto, tty, plain or off", mode)}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// offView shows no status.
type offView struct{ io.Writer }

func (offView) Update(drill.Status) {}
func (offView) Hold()               {}
func (offView) Release()            {}

// plainView writes a line at each phase change and a summary line every
// so often: output for logs, never redrawn.
type plainView struct {
	w     io.Writer
	every time.Duration

	mu       sync.Mutex
	scenario string
	phase    drill.Phase
	last     time.Time // when the last line was written, by the status clock
	held     bool      // a prompt waits: no summary lines under it
}

func (v *plainView) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.w.Write(p)
}

func (v *plainView) Hold()    { v.setHeld(true) }
func (v *plainView) Release() { v.setHeld(false) }

func (v *plainView) setHeld(held bool) {
	v.mu.Lock()
	v.held = held
	v.mu.Unlock()
}

func (v *plainView) Update(s drill.Status) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case s.Scenario != v.scenario || s.Phase != v.phase:
		v.scenario, v.phase, v.last = s.Scenario, s.Phase, s.Now
		if s.Phase == drill.PhaseDone {
			return // the verdict line follows
		}
		fmt.Fprintf(v.w, "[%s %s] phase %s%s\n", s.Scenario, clockTime(s.Elapsed()), s.Phase, phaseNote(s))
	case !v.held && s.Phase != drill.PhaseDone && s.Now.Sub(v.last) >= v.every:
		v.last = s.Now
		fmt.Fprintf(v.w, "[%s %s] %s: %s%s\n", s.Scenario, clockTime(s.Elapsed()), s.Phase, proberSummary(s.Probers), deadlineNote(s, "; "))
	}
}

// phaseNote is what a phase line adds about the phase.
func phaseNote(s drill.Status) string {
	if s.Phase == drill.PhaseRecover && s.RTO > 0 {
		return fmt.Sprintf(": fault in, RTO bound %s", s.RTO)
	}
	return ""
}

// proberSummary is every prober's state and success ratio on one line.
func proberSummary(ps []drill.ProberStatus) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s %s %s", p.Name, stateWord(p.State), ratio(p)))
	}
	return strings.Join(parts, ", ")
}

// deadlineNote says how the drill stands against its RTO bound, after sep;
// empty before the fault.
func deadlineNote(s drill.Status, sep string) string {
	if left, ok := s.RTOLeft(); ok {
		if left >= 0 {
			return fmt.Sprintf("%sRTO %s left of %s", sep, left.Round(time.Second), s.RTO)
		}
		return fmt.Sprintf("%sRTO %s exceeded by %s", sep, s.RTO, (-left).Round(time.Second))
	}
	if s.Recovered > 0 {
		bound := ""
		if s.RTO > 0 {
			bound = fmt.Sprintf(" (RTO bound %s)", s.RTO)
		}
		return fmt.Sprintf("%srecovered after %s%s", sep, s.Recovered.Round(100*time.Millisecond), bound)
	}
	return ""
}

func ratio(p drill.ProberStatus) string {
	r, ok := p.Ratio()
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", r*100)
}

// clockTime writes d as minutes:seconds.
func clockTime(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// ttyView redraws a block of status lines in place, below whatever was
// written: each Write takes the block off, writes, and puts it back.
type ttyView struct {
	w     io.Writer
	width int // terminal columns; 0 when unknown

	mu    sync.Mutex
	last  *drill.Status
	lines int // lines of the block on screen
	held  bool
}

func (v *ttyView) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.eraseLocked()
	n, err := v.w.Write(p)
	v.drawLocked()
	return n, err
}

func (v *ttyView) Update(s drill.Status) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.eraseLocked()
	if s.Phase == drill.PhaseDone {
		v.last = nil // the verdict line replaces the block
		return
	}
	v.last = &s
	v.drawLocked()
}

func (v *ttyView) Hold() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.eraseLocked()
	v.held = true
}

func (v *ttyView) Release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.held = false
	v.drawLocked()
}

// eraseLocked moves the cursor up to the block's first line and clears
// from there to the end of the screen.
func (v *ttyView) eraseLocked() {
	if v.lines > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\r\x1b[J", v.lines)
		v.lines = 0
	}
}

func (v *ttyView) drawLocked() {
	if v.held || v.last == nil {
		return
	}
	block := statusBlock(*v.last)
	for _, l := range block {
		if v.width > 1 {
			l = truncate(l, v.width-1) // a wrapped line would throw the count off
		}
		fmt.Fprintf(v.w, "%s\n", l)
	}
	v.lines = len(block)
}

// statusBlock is the status as a few lines of text.
func statusBlock(s drill.Status) []string {
	head := fmt.Sprintf("» %s · %s · %s%s", s.Scenario, s.Phase, clockTime(s.Elapsed()), deadlineNote(s, " · "))
	lines := []string{head}
	for _, p := range s.Probers {
		lines = append(lines, fmt.Sprintf("  %-10s %-7s %6s  %d/%d", p.Name, stateWord(p.State), ratio(p), p.Successes, p.Attempts))
	}
	if s.Mitigation != "" {
		lines = append(lines, "  mitigation: "+s.Mitigation)
	}
	return lines
}

// stateWord shows a prober's state, down in capitals so that it stands out.
func stateWord(s timeline.State) string {
	if s == timeline.Down {
		return "DOWN"
	}
	return string(s)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
