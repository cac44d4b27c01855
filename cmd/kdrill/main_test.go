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
		{"bad log format", []string{"run", "--log-format", "xml"}, nil, []string{`--log-format "xml"`, "text or json"}},
		{"unknown scenario", []string{"run", "--scenario", "meteor-strike"}, nil, []string{`unknown scenario "meteor-strike"`, "apiserver-crash"}},
		{"dry run on kind", []string{"run", "--dry-run"}, nil, []string{"--dry-run prints AWS calls", "kdrill plan"}},
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

// TestReport runs kdrill report on good and bad results files. A bad one
// (missing, truncated, of another schema) gets one error line naming the
// file and what is wrong, exit code 2, and no report, not even a partial
// one, and leaves an older report in place.
func TestReport(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "..", "reports", "testdata", "kind-drill.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		results string // content of results.json; "-" for no file at all
		args    []string
		code    int
		want    []string // substrings of the error line, or of stdout on success
	}{
		{"good", string(good), []string{"--junit", "{dir}/junit.xml"}, exitOK, []string{"{dir}/report.html", "{dir}/junit.xml"}},
		{"html only", string(good), nil, exitOK, []string{"{dir}/report.html"}},
		{"missing", "-", []string{"--junit", "{dir}/junit.xml"}, exitUsage, []string{"{dir}/results.json: no such results file"}},
		{"empty", "", nil, exitUsage, []string{"{dir}/results.json: empty file"}},
		{"truncated", string(good[:len(good)/2]), []string{"--junit", "{dir}/junit.xml"}, exitUsage, []string{"{dir}/results.json: truncated"}},
		{"wrong schema", `{"schema": "kdrill/results/v2", "scenarios": []}`, nil, exitUsage,
			[]string{"{dir}/results.json: schema: is \"kdrill/results/v2\", this kdrill reads \"kdrill/results/v1\""}},
		{"not results", `{"apiVersion": "v1", "kind": "ConfigMap"}`, nil, exitUsage, []string{"{dir}/results.json: schema: missing"}},
		{"bad verdict", `{"schema": "kdrill/results/v1", "scenarios": [{"id": "x", "verdict": "ok"}]}`, nil, exitUsage,
			[]string{"{dir}/results.json: scenarios[0].verdict"}},
		{"no --in", string(good), []string{"--in", ""}, exitUsage, []string{"--in is required"}},
		{"output folder missing", string(good), []string{"--out", "{dir}/no/such/report.html"}, exitUsage, []string{"--out {dir}/no/such/report.html: folder {dir}/no/such does not exist"}},
		{"junit folder missing", string(good), []string{"--junit", "{dir}/no/junit.xml"}, exitUsage, []string{"--junit {dir}/no/junit.xml: folder {dir}/no does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sub := func(s string) string { return strings.ReplaceAll(s, "{dir}", dir) }
			in := filepath.Join(dir, "results.json")
			if tt.results != "-" {
				if err := os.WriteFile(in, []byte(tt.results), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// An older report must survive a failed run.
			old := filepath.Join(dir, "report.html")
			if err := os.WriteFile(old, []byte("old report"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"report", "--in", in, "--out", old}
			for _, a := range tt.args {
				args = append(args, sub(a))
			}
			cmd := exec.Command(kdrill, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Fatalf("kdrill %s: exit code %d, want %d; stderr:\n%s", strings.Join(args, " "), code, tt.code, stderr.String())
			}
			got := stdout.String()
			if tt.code != exitOK {
				got = strings.TrimSpace(stderr.String())
				if strings.Count(got, "\n") != 0 || !strings.HasPrefix(got, "kdrill: ") {
					t.Errorf("want one error line, got:\n%s", got)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, sub(w)) {
					t.Errorf("output %q lacks %q", got, sub(w))
				}
			}
			report, _ := os.ReadFile(old)
			switch {
			case tt.code == exitOK && !bytes.HasPrefix(report, []byte("<!DOCTYPE html>")):
				t.Errorf("report.html starts %.40q, want the new report", report)
			case tt.code != exitOK && string(report) != "old report":
				t.Errorf("a failed report replaced the old one with %.40q", report)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			want := 2 // results.json and report.html
			if tt.results == "-" {
				want = 1
			}
			if tt.code == exitOK && len(tt.args) > 0 {
				want++ // junit.xml
			}
			if len(names) != want {
				t.Errorf("folder holds %v: a partial or temporary file was left", names)
			}
		})
	}
}

// TestPlan runs 'kdrill plan', which must describe every step without a
// cluster or a Docker engine.
func TestPlan(t *testing.T) {
	cmd := exec.Command(kdrill, "plan", "--name", "lab", "--scenario", "kubelet-crash", "--scenario", "vm-shutdown", "--watchdog-period", "5s")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent.sock")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kdrill plan: %v", err)
	}
	for _, want := range []string{
		"1. kubelet-crash", "2. vm-shutdown",
		"SIGKILL the kubelet on lab-control-plane",
		"systemd restarts the kubelet",
		"RTO ≤ 30s; data-plane availability ≥ 99.5%",
		"2 of the last 2 checks (every 5s)",
		"start the machine if it is still stopped",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

// TestGuardRefuses runs 'kdrill run' against targets the guard must
// refuse, and configs it must reject: each gets one error line, exit code
// 2, and nothing injected (no undo journal is even opened). No Docker is
// needed: the guard acts before kdrill looks for the cluster.
func TestGuardRefuses(t *testing.T) {
	dir := t.TempDir()
	awsConfig := filepath.Join(dir, "aws.yaml")
	write(t, awsConfig, `target:
  provider: aws
  name: lab
  aws: {account_id: "123456789012", region: eu-west-1}
allow: [aws:123456789012]
`)
	awsNotAllowed := filepath.Join(dir, "aws-not-allowed.yaml")
	write(t, awsNotAllowed, "target:\n  provider: aws\n  name: lab\n  aws: {account_id: \"123456789012\", region: eu-west-1}\nallow: [aws:999999999999]\n")
	allowLab := filepath.Join(dir, "allow-lab.yaml")
	write(t, allowLab, "target: {name: lab}\nallow: [kind:lab]\n")
	bad := filepath.Join(dir, "bad.yaml")
	write(t, bad, "target: {name: lab}\nmitigations:\n  backups: {interval: 1s}\n")
	noEngine := "DOCKER_HOST=unix://" + filepath.Join(dir, "no-such.sock")

	tests := []struct {
		name   string
		args   []string
		marker bool     // write the marker of cluster "lab" first
		want   []string // substrings of the error line
	}{
		{"kind cluster kdrill did not create", []string{"run", "--name", "lab"}, false,
			[]string{`refusing to drill kind cluster "lab": kdrill did not create it (no `, "created-by-kdrill.json", `add "kind:lab" to allow:`}},
		{"aws without --yes, no terminal", []string{"run", "--config", awsConfig}, false,
			[]string{`refusing to drill AWS cluster "lab" in account 123456789012 (eu-west-1)`, "needs --yes"}},
		{"aws account not allowed", []string{"run", "--config", awsNotAllowed, "--yes"}, false,
			[]string{`AWS account 123456789012 is not in the allow-list`}},
		{"aws allowed and confirmed, but no tags", []string{"run", "--config", awsConfig, "--yes"}, false,
			[]string{"no --aws-tag selector: kdrill never acts on all instances"}},
		{"bad config", []string{"run", "--config", bad}, false,
			[]string{bad + ":3: mitigations.backups.interval: must be at least 5s, got 1s"}},
		{"bad --progress", []string{"run", "--progress", "fancy"}, true, []string{`--progress "fancy"`}},
		// The guard lets these through; kdrill then finds no Docker engine.
		{"allow-listed kind cluster", []string{"run", "--config", allowLab}, false, []string{"no Docker engine answers"}},
		{"kind cluster kdrill created", []string{"run", "--name", "lab"}, true, []string{"no Docker engine answers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			if tt.marker {
				write(t, filepath.Join(mkdir(t, filepath.Join(state, "clusters", "lab")), "created-by-kdrill.json"), `{"name": "lab"}`)
			}
			cmd := exec.Command(kdrill, append(tt.args, "--state-dir", state, "--out", filepath.Join(state, "out"))...)
			cmd.Env = append(os.Environ(), noEngine)
			cmd.Stdin = strings.NewReader("lab\n") // not a terminal: no one to ask
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
				t.Fatalf("kdrill %s: err %v, want exit code %d; stderr:\n%s", strings.Join(tt.args, " "), err, exitUsage, stderr.String())
			}
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if strings.HasPrefix(l, "kdrill: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 {
				t.Fatalf("want exactly one error line, got:\n%s", stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(errLines[0], w) {
					t.Errorf("error %q lacks %q", errLines[0], w)
				}
			}
			for _, p := range []string{"journal.jsonl", "out"} {
				if _, err := os.Stat(filepath.Join(state, p)); err == nil {
					t.Errorf("%s exists: a refused run must not get that far", p)
				}
			}
		})
	}
}

// TestConfigNotReadBySurprise checks that a kdrill.yaml in the working
// folder is not read without --config, and that kdrill says so.
func TestConfigNotReadBySurprise(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "kdrill.yaml"), "allow: [kind:lab]\n")
	cmd := exec.Command(kdrill, "run", "--name", "lab", "--state-dir", t.TempDir())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent.sock")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
		t.Fatalf("err %v, want exit code 2:\n%s", err, out)
	}
	if !strings.Contains(string(out), "note: ./kdrill.yaml is not read without --config kdrill.yaml") ||
		!strings.Contains(string(out), `refusing to drill kind cluster "lab"`) {
		t.Errorf("output:\n%s", out)
	}
}

// TestPlanConfig runs 'kdrill plan' on the example config with flags
// over it.
func TestPlanConfig(t *testing.T) {
	cmd := exec.Command(kdrill, "plan", "--config", filepath.Join("..", "..", "kdrill.example.yaml"), "--name", "lab", "--scenario", "vm-shutdown", "--watchdog-period", "7s")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent.sock")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kdrill plan: %v", err)
	}
	for _, want := range []string{
		`Plan for kind cluster "lab": 1 scenario(s)`,
		`Guard: run drills it only if 'kdrill cluster up' created it, or the config's allow: names "kind:lab"`,
		"1. vm-shutdown", "stop the control-plane machine lab-control-plane",
		"2 of the last 2 checks (every 7s)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
