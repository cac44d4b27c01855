package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kdrill is the binary under test, built once by TestMain.
var kdrill string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kdrill-cli-")
	if err != nil {
		panic(err)
	}
	kdrill = filepath.Join(dir, "kdrill")
	if out, err := exec.Command("go", "build", "-o", kdrill, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("build kdrill: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestBadInput runs the real binary on inputs it must refuse: each gets one
// line on stderr naming the cause, and exit code 2. None needs Docker: a
// dead DOCKER_HOST stands in for a missing engine.
func TestBadInput(t *testing.T) {
	noEngine := "DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-such.sock")
	tests := []struct {
		name string
		args []string
		env  []string
		want []string // substrings of the error line
	}{
		{"unknown command", []string{"explode"}, nil, []string{`unknown command "explode"`}},
		{"unknown flag", []string{"cluster", "up", "--colour"}, nil, []string{"unknown flag: --colour"}},
		{"stray argument", []string{"cluster", "down", "extra"}, nil, []string{"takes no arguments"}},
		{"bad port", []string{"cluster", "up", "--port", "0"}, nil, []string{"--port 0"}},
		{"malformed version", []string{"image", "build", "--kubernetes-version", "1.35"}, nil, []string{`"1.35"`, "vX.Y.Z"}},
		{"no engine for up", []string{"cluster", "up", "--image", "x", "--state-dir", t.TempDir()}, []string{noEngine}, []string{"no Docker engine answers", "make docker"}},
		{"no engine for down", []string{"cluster", "down"}, []string{noEngine}, []string{"no Docker engine answers"}},
		{"no engine for image build", []string{"image", "build", "--cache-dir", t.TempDir()}, []string{noEngine}, []string{"no Docker engine answers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(kdrill, tt.args...)
			cmd.Env = append(os.Environ(), tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
				t.Fatalf("kdrill %s: err %v, want exit code %d; stderr:\n%s", strings.Join(tt.args, " "), err, exitUsage, stderr.String())
			}
			line := strings.TrimSpace(stderr.String())
			errLines := 0
			for _, l := range strings.Split(line, "\n") {
				if strings.HasPrefix(l, "kdrill: ") {
					errLines++
				}
			}
			if errLines != 1 {
				t.Errorf("want exactly one error line, got:\n%s", line)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q lacks %q", line, w)
				}
			}
		})
	}
}
