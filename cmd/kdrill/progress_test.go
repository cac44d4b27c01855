package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/timeline"
)

// fakeDrill is a stream of statuses as one apiserver-crash drill would
// report them: a status a second, the fault in at 5 s, recovered at 18 s.
func fakeDrill() []drill.Status {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var out []drill.Status
	at := func(sec int, phase drill.Phase, change func(*drill.Status)) {
		s := drill.Status{
			Scenario: "apiserver-crash", Phase: phase, Start: t0, Now: t0.Add(time.Duration(sec) * time.Second), RTO: time.Minute,
			Probers: []drill.ProberStatus{
				{Name: "data-plane", State: timeline.Up, Attempts: 20 * sec, Successes: 20 * sec},
				{Name: "api-write", State: timeline.Up, Attempts: 4 * sec, Successes: 4 * sec},
			},
		}
		if sec >= 5 {
			s.Injected = t0.Add(5 * time.Second)
		}
		if change != nil {
			change(&s)
		}
		out = append(out, s)
	}
	for sec := 0; sec < 5; sec++ {
		at(sec, drill.PhaseBaseline, nil)
	}
	at(5, drill.PhaseInject, func(s *drill.Status) { s.Injected = time.Time{} })
	for sec := 5; sec < 18; sec++ {
		at(sec, drill.PhaseRecover, func(s *drill.Status) {
			s.Probers[1].State = timeline.Down
			s.Probers[1].Successes = 20
		})
	}
	at(18, drill.PhaseTail, func(s *drill.Status) {
		s.Recovered = 13 * time.Second
		s.Mitigation = "the kubelet restarted kube-apiserver"
	})
	at(21, drill.PhaseRevert, nil)
	at(22, drill.PhaseVerify, nil)
	at(23, drill.PhaseDone, nil)
	return out
}

func TestPlainView(t *testing.T) {
	var buf bytes.Buffer
	v := &plainView{w: &buf, every: 5 * time.Second}
	for i, s := range fakeDrill() {
		v.Update(s)
		if i == 2 {
			io.WriteString(v, "time=... level=INFO msg=\"waiting for a healthy cluster\"\n")
		}
	}
	want := `[apiserver-crash 0:00] phase baseline
time=... level=INFO msg="waiting for a healthy cluster"
[apiserver-crash 0:05] phase inject
[apiserver-crash 0:05] phase recover: fault in, RTO bound 1m0s
[apiserver-crash 0:10] recover: data-plane up 100.0%, api-write DOWN 50.0%; RTO 55s left of 1m0s
[apiserver-crash 0:15] recover: data-plane up 100.0%, api-write DOWN 33.3%; RTO 50s left of 1m0s
[apiserver-crash 0:18] phase tail
[apiserver-crash 0:21] phase revert
[apiserver-crash 0:22] phase verify
`
	if got := buf.String(); got != want {
		t.Errorf("plain output:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Error("plain output holds terminal escapes")
	}

	// No summary lines under a prompt.
	buf.Reset()
	v = &plainView{w: &buf, every: 5 * time.Second}
	stream := fakeDrill()
	v.Update(stream[6])
	v.Hold()
	for _, s := range stream[7:18] {
		v.Update(s)
	}
	v.Release()
	if got := buf.String(); got != "[apiserver-crash 0:05] phase recover: fault in, RTO bound 1m0s\n" {
		t.Errorf("output while held:\n%s", got)
	}
}

func TestPlainViewNotes(t *testing.T) {
	s := fakeDrill()[10]
	s.Now = s.Injected.Add(70 * time.Second)
	if got := deadlineNote(s, "; "); got != "; RTO 1m0s exceeded by 10s" {
		t.Errorf("deadlineNote past the bound = %q", got)
	}
	s.Recovered = 1234 * time.Millisecond
	if got := deadlineNote(s, "; "); got != "; recovered after 1.2s (RTO bound 1m0s)" {
		t.Errorf("deadlineNote after recovery = %q", got)
	}
	s.RTO, s.Recovered = 0, 0
	if got := deadlineNote(s, "; "); got != "" {
		t.Errorf("deadlineNote without a bound = %q", got)
	}
	if got := clockTime(75 * time.Second); got != "1:15" {
		t.Errorf("clockTime(75s) = %q", got)
	}
}

var escapes = regexp.MustCompile(`\x1b\[(\d*)([A-Za-z])`)

// screen plays terminal output onto a grid of lines, understanding the
// escapes ttyView writes: cursor up, carriage return, erase to the end.
func screen(out string) []string {
	lines := []string{""}
	row := 0
	for len(out) > 0 {
		if loc := escapes.FindStringSubmatchIndex(out); loc != nil && loc[0] == 0 {
			n := 1
			if loc[3] > loc[2] {
				n = atoi(out[loc[2]:loc[3]])
			}
			switch out[loc[4]:loc[5]] {
			case "A":
				row = max(row-n, 0)
			case "J":
				lines = lines[:row+1]
				lines[row] = ""
			}
			out = out[loc[1]:]
			continue
		}
		c, size := utf8.DecodeRuneInString(out)
		switch c {
		case '\n':
			row++
			if row == len(lines) {
				lines = append(lines, "")
			}
		case '\r':
			lines[row] = ""
		default:
			lines[row] += string(c)
		}
		out = out[size:]
	}
	return lines
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestTTYView(t *testing.T) {
	var buf bytes.Buffer
	v := &ttyView{w: &buf, width: 80}
	stream := fakeDrill()
	io.WriteString(v, "=== apiserver-crash\n")
	for _, s := range stream[:12] {
		v.Update(s)
	}
	io.WriteString(v, "level=INFO msg=\"mitigation acted\"\n")
	got := strings.Join(screen(buf.String()), "\n")
	want := `=== apiserver-crash
level=INFO msg="mitigation acted"
» apiserver-crash · recover · 0:10 · RTO 55s left of 1m0s
  data-plane up      100.0%  200/200
  api-write  DOWN     50.0%  20/40
`
	if got != want {
		t.Errorf("screen:\n%s\nwant:\n%s", got, want)
	}

	// A prompt takes the block off the screen, and Release puts it back.
	v.Hold()
	v.Update(stream[13])
	io.WriteString(v, "Press Enter: \n")
	if s := strings.Join(screen(buf.String()), "\n"); strings.Contains(s, "»") {
		t.Errorf("block drawn while held:\n%s", s)
	}
	v.Release()
	if s := strings.Join(screen(buf.String()), "\n"); !strings.HasSuffix(s, "Press Enter: \n» apiserver-crash · recover · 0:12 · RTO 53s left of 1m0s\n  data-plane up      100.0%  240/240\n  api-write  DOWN     41.7%  20/48\n") {
		t.Errorf("after Release:\n%s", s)
	}

	for _, s := range stream[13:] {
		v.Update(s)
	}
	io.WriteString(v, "--- apiserver-crash: PASS\n")
	got = strings.Join(screen(buf.String()), "\n")
	if !strings.HasSuffix(got, "Press Enter: \n--- apiserver-crash: PASS\n") {
		t.Errorf("the block should be gone once the drill is done:\n%s", got)
	}
}

func TestTTYViewTruncates(t *testing.T) {
	var buf bytes.Buffer
	v := &ttyView{w: &buf, width: 30}
	s := fakeDrill()[19]
	v.Update(s)
	for _, l := range screen(buf.String()) {
		if n := len([]rune(l)); n > 29 {
			t.Errorf("line of %d runes on a 30-column terminal: %q", n, l)
		}
	}
}

func TestNewView(t *testing.T) {
	var buf bytes.Buffer
	for mode, want := range map[string]any{
		progressAuto:  &plainView{}, // a buffer is not a terminal
		progressPlain: &plainView{},
		progressTTY:   &ttyView{},
		progressOff:   offView{},
	} {
		v, err := newView(mode, &buf)
		if err != nil {
			t.Fatalf("newView(%q): %v", mode, err)
		}
		if got, w := fmt.Sprintf("%T", v), fmt.Sprintf("%T", want); got != w {
			t.Errorf("newView(%q) = %s, want %s", mode, got, w)
		}
	}
	logFormat = "json"
	defer func() { logFormat = "text" }()
	if v, _ := newView(progressAuto, &buf); fmt.Sprintf("%T", v) != "main.offView" {
		t.Errorf("auto with JSON logs = %T, want off", v)
	}
	_, err := newView("fancy", &buf)
	var u *usageError
	if !errors.As(err, &u) || err.Error() != `--progress "fancy": want auto, tty, plain or off` {
		t.Errorf("newView(fancy) = %v", err)
	}
}

func TestStepper(t *testing.T) {
	pr, pw := io.Pipe()
	var out bytes.Buffer
	s := &stepper{in: newLineReader(pr), out: offView{&out}}
	n := drill.Narration{Do: "inject the fault: SIGKILL kube-apiserver on lab-control-plane", Watch: "must hold: pods keep serving"}
	go io.WriteString(pw, "\n\n")
	ctx := context.Background()
	for _, p := range []drill.Phase{drill.PhaseBaseline, drill.PhaseInject} {
		if err := s.before(ctx, "apiserver-crash", p, n); err != nil {
			t.Fatalf("before(%s): %v", p, err)
		}
	}
	if got := out.String(); !strings.Contains(got, "[apiserver-crash] next: inject\n  do:    inject the fault: SIGKILL kube-apiserver on lab-control-plane\n  watch: must hold: pods keep serving\nPress Enter to go on") {
		t.Errorf("prompt:\n%s", got)
	}

	// Ctrl-C while paused: the context ends, the pause gives up at once.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- s.before(cctx, "apiserver-crash", drill.PhaseTail, n) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || s.ended {
			t.Errorf("before() after Ctrl-C = %v (ended %v), want context.Canceled", err, s.ended)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a pause did not end with its context")
	}

	// The end of the input stops the run.
	pw.Close()
	if err := s.before(ctx, "apiserver-crash", drill.PhaseRevert, n); !errors.Is(err, errInputEnded) || !s.ended {
		t.Errorf("before() at the end of input = %v (ended %v), want errInputEnded", err, s.ended)
	}
}
