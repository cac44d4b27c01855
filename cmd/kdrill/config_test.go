package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/input"
	"github.com/kdrill/kdrill/harness/slo"
)

// TestFlagsOverrideConfig checks that every drill flag given on the
// command line wins over the config file, and that flags left out leave
// the file alone.
func TestFlagsOverrideConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kdrill.yaml")
	write(t, file, `target:
  name: lab
scenarios:
  vm-shutdown: {force: true}
  kubelet-crash:
slo:
  scenarios:
    vm-shutdown: {max_rto: 7m}
mitigations:
  restarts: {enabled: false}
  watchdog: {period: 5s, evaluation: 3}
  backups: {interval: 30s}
probes: {data_plane_rate: 50}
`)
	sloFile := filepath.Join(dir, "slo.yaml")
	write(t, sloFile, "scenarios:\n  vm-shutdown:\n    max_rto: 2m\n")

	type check func(t *testing.T, c *config.Config)
	tests := []struct {
		name  string
		args  []string
		check check
	}{
		{"no file, no flags: the defaults", nil, func(t *testing.T, c *config.Config) {
			if c.Target.Name != "kdrill" || !slices.Equal(c.IDs(), drill.Scenarios()) || c.SLO != nil || c.MitigationOff(slo.APIServerCrash) {
				t.Errorf("config %+v", c)
			}
		}},
		{"no file, flags", []string{"--name", "lab2", "--scenario", "kubelet-crash", "--watchdog-period", "2s", "--backup-interval", "10s", "--mitigation-off"}, func(t *testing.T, c *config.Config) {
			o := c.Options(slo.KubeletCrash)
			if c.Target.Name != "lab2" || !slices.Equal(c.IDs(), []string{slo.KubeletCrash}) || !o.MitigationOff ||
				o.Watchdog.Period != 2*time.Second || o.BackupInterval != 10*time.Second {
				t.Errorf("config %+v, options %+v", c, o)
			}
		}},
		{"file alone", []string{"--config", file}, func(t *testing.T, c *config.Config) {
			vm := c.Options(slo.VMShutdown)
			if c.Target.Name != "lab" || !slices.Equal(c.IDs(), []string{slo.VMShutdown, slo.KubeletCrash}) || !vm.ForceStop ||
				vm.Watchdog != (drill.WatchdogOptions{Period: 5 * time.Second, Datapoints: 2, Evaluation: 3}) || vm.DataPlaneRate != 50 ||
				c.SLO.For(slo.VMShutdown).MaxRTO.D() != 7*time.Minute || !c.MitigationOff(slo.KubeletCrash) || vm.MitigationOff {
				t.Errorf("config %+v, vm-shutdown options %+v", c, vm)
			}
		}},
		{"--name over target.name", []string{"--config", file, "--name", "lab2"}, func(t *testing.T, c *config.Config) {
			if c.Target.Name != "lab2" || !slices.Equal(c.IDs(), []string{slo.VMShutdown, slo.KubeletCrash}) {
				t.Errorf("config %+v", c)
			}
		}},
		{"--scenario over scenarios, keeping parameters", []string{"--config", file, "--scenario", "etcd-data-loss", "--scenario", "vm-shutdown"}, func(t *testing.T, c *config.Config) {
			if !slices.Equal(c.IDs(), []string{slo.EtcdDataLoss, slo.VMShutdown}) || !c.Options(slo.VMShutdown).ForceStop {
				t.Errorf("IDs %v, vm-shutdown %+v", c.IDs(), c.Scenario(slo.VMShutdown))
			}
		}},
		{"--watchdog-period over mitigations.watchdog.period", []string{"--config", file, "--watchdog-period", "3s"}, func(t *testing.T, c *config.Config) {
			if w := c.Options(slo.VMShutdown).Watchdog; w != (drill.WatchdogOptions{Period: 3 * time.Second, Datapoints: 2, Evaluation: 3}) {
				t.Errorf("watchdog %+v: only the period changes", w)
			}
		}},
		{"--backup-interval over mitigations.backups.interval", []string{"--config", file, "--backup-interval", "1m"}, func(t *testing.T, c *config.Config) {
			if got := c.Options(slo.EtcdDataLoss).BackupInterval; got != time.Minute {
				t.Errorf("backup interval %s", got)
			}
		}},
		{"--mitigation-off over every mitigation", []string{"--config", file, "--mitigation-off"}, func(t *testing.T, c *config.Config) {
			for _, id := range drill.Scenarios() {
				if !c.MitigationOff(id) {
					t.Errorf("%s: mitigation on", id)
				}
			}
		}},
		{"--mitigation-off=false switches them all on", []string{"--config", file, "--mitigation-off=false"}, func(t *testing.T, c *config.Config) {
			if c.MitigationOff(slo.KubeletCrash) {
				t.Error("restarts still off")
			}
		}},
		{"--slo over slo:", []string{"--config", file, "--slo", sloFile}, func(t *testing.T, c *config.Config) {
			if got := c.SLO.For(slo.VMShutdown).MaxRTO.D(); got != 2*time.Minute {
				t.Errorf("vm-shutdown max_rto %s, want the --slo file's 2m", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseDrillFlags(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestDrillConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	write(t, bad, "mitigations:\n  watchdog:\n    period: 1ms\n")
	sloAsConfig := filepath.Join(dir, "slo.yaml")
	write(t, sloAsConfig, "defaults:\n  min_data_plane_availability: 0.99\n")
	tests := []struct {
		name  string
		args  []string
		usage bool // a usageError; otherwise an input.Error
		want  string
	}{
		{"watchdog period", []string{"--watchdog-period", "500ms"}, true, "--watchdog-period 500ms is below 1s"},
		{"backup interval", []string{"--backup-interval", "1s"}, true, "--backup-interval 1s is below 5s"},
		{"unknown scenario", []string{"--scenario", "meteor-strike"}, true, `unknown scenario "meteor-strike"; known: apiserver-crash`},
		{"bad name", []string{"--name", "Lab_1"}, true, `--name: "Lab_1" is not a kind cluster name`},
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml")}, false, filepath.Join(dir, "none.yaml") + ": no such config file"},
		{"bad config", []string{"--config", bad}, false, bad + ":3: mitigations.watchdog.period: must be at least 1s, got 1ms"},
		{"SLO file as config", []string{"--config", sloAsConfig}, false, "defaults: unknown field (known: target, allow, scenarios, slo, mitigations, probes); this looks like an SLO file: pass it with --slo"},
		{"missing SLO file", []string{"--slo", filepath.Join(dir, "none.yaml")}, false, "none.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDrillFlags(t, tt.args...)
			var u *usageError
			switch {
			case err == nil:
				t.Fatal("no error")
			case tt.usage && !errors.As(err, &u), !tt.usage && !input.Is(err):
				t.Errorf("error %v is a %T", err, err)
			case !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if exitCode(err) != exitUsage {
				t.Errorf("exit code %d, want %d", exitCode(err), exitUsage)
			}
		})
	}
}

// parseDrillFlags parses args as 'kdrill run' would and returns the config
// they make.
func parseDrillFlags(t *testing.T, args ...string) (*config.Config, error) {
	t.Helper()
	var o runOptions
	cmd := &cobra.Command{Use: "run"}
	addDrillFlags(cmd, &o)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)
	return drillConfig(cmd, o)
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConfirm feeds the confirmation prompt what a person might type.
func TestConfirm(t *testing.T) {
	target := config.Target{Provider: config.AWS, Name: "lab", AWS: config.AWSTarget{AccountID: "123456789012"}}
	tests := []struct {
		input string
		want  string // substring of the refusal; empty to go on
	}{
		{"lab\n", ""},
		{"lab", ""}, // no final newline, then the end of the input
		{"prod\n", `refusing to drill AWS cluster "lab" in account 123456789012: not confirmed: typed "prod", not the target's name "lab"`},
		{"\n", `typed ""`},
		{"", "not confirmed: standard input ended"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := confirm(t.Context(), newLineReader(strings.NewReader(tt.input)), &out, target)
		if !strings.Contains(out.String(), `Type the target's name (lab) to go on: `) {
			t.Errorf("prompt %q", out.String())
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("confirm(%q) = %v", tt.input, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("confirm(%q) = %v, want %q", tt.input, err, tt.want)
		case tt.want != "" && exitCode(err) != exitUsage:
			t.Errorf("confirm(%q): exit code %d, want %d", tt.input, exitCode(err), exitUsage)
		}
	}
}
