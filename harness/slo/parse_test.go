package slo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kdrill/kdrill/harness/input"
)

func TestParse(t *testing.T) {
	data := `# the team's SLOs
defaults:
  min_data_plane_availability: 0.999
scenarios:
  apiserver-crash:
    max_rto: 45s
    max_lost_acknowledged_writes: 0
  etcd-data-loss:
    max_rpo: 10m
  kubelet-crash:
`
	c, err := Parse("slo.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if *c.Defaults.MinDataPlaneAvailability != 0.999 {
		t.Errorf("defaults %+v", c.Defaults)
	}
	a := c.For(APIServerCrash)
	if a.MaxRTO.D() != 45*time.Second || *a.MaxLostAcknowledgedWrites != 0 || *a.MinDataPlaneAvailability != 0.999 {
		t.Errorf("apiserver-crash %+v", a)
	}
	e := c.For(EtcdDataLoss)
	if e.MaxRPO.D() != 10*time.Minute || e.MaxRPOBackupIntervals != nil || e.MaxRTO.D() != 5*time.Minute {
		t.Errorf("etcd-data-loss: max_rpo should replace the built-in backup-interval bound: %+v", e)
	}
	if k := c.For(KubeletCrash); k.MaxRTO.D() != 30*time.Second {
		t.Errorf("kubelet-crash with an empty entry keeps the built-in RTO: %+v", k)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "  \n", "# nothing\n", "~\n"} {
		c, err := Parse("slo.yaml", []byte(data))
		if err != nil {
			t.Errorf("Parse(%q): %v", data, err)
			continue
		}
		if got := c.For(VMShutdown); got.MaxRTO.D() != 5*time.Minute {
			t.Errorf("Parse(%q) changed the defaults: %+v", data, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		line  int
		field string
		msg   string
	}{
		{"malformed YAML", "scenarios:\n  apiserver-crash:\n    max_rto: 45s\n      extra: 1\n", 4, "", "malformed YAML: mapping values are not allowed"},
		{"tab indentation", "scenarios:\n\tapiserver-crash: {}\n", 2, "", "malformed YAML"},
		{"duplicate key", "defaults: {}\ndefaults: {}\n", 2, "", `key "defaults" already defined at line 1`},
		{"duplicate nested key", "scenarios:\n  vm-shutdown:\n    max_rto: 1m\n    max_rto: 2m\n", 4, "", `key "max_rto" already defined at line 3`},
		{"not a mapping", "- apiserver-crash\n", 1, "", "got a list"},
		{"unknown top-level field", "defaults: {}\nscenario:\n  apiserver-crash: {}\n", 2, "scenario", "unknown field"},
		{"unknown scenario id", "scenarios:\n  apiserver-crash:\n    max_rto: 1m\n  apiserver-crsh:\n    max_rto: 1m\n", 4, "scenarios.apiserver-crsh", `unknown scenario id "apiserver-crsh"`},
		{"unknown bound", "scenarios:\n  vm-shutdown:\n    max_rtoo: 1m\n", 3, "scenarios.vm-shutdown.max_rtoo", "unknown field"},
		{"scenarios a list", "scenarios:\n  - vm-shutdown\n", 1, "scenarios", "got a list"},
		{"bounds a string", "scenarios:\n  vm-shutdown: fast\n", 2, "scenarios.vm-shutdown", "got a string"},
		{"duration as a number", "scenarios:\n  vm-shutdown:\n    max_rto: 300\n", 3, "scenarios.vm-shutdown.max_rto", `want a duration such as "90s"`},
		{"duration garbage", "scenarios:\n  vm-shutdown:\n    max_rto: soon\n", 3, "scenarios.vm-shutdown.max_rto", `got "soon"`},
		{"zero duration", "scenarios:\n  vm-shutdown:\n    max_rto: 0s\n", 3, "scenarios.vm-shutdown.max_rto", "must be positive"},
		{"negative duration", "defaults:\n  max_rpo: -5m\n", 2, "defaults.max_rpo", "must be positive"},
		{"availability above 1", "defaults:\n  min_data_plane_availability: 99.5\n", 2, "defaults.min_data_plane_availability", "write 0.995"},
		{"availability below 0", "defaults:\n  min_data_plane_availability: -0.1\n", 2, "defaults.min_data_plane_availability", "between 0 and 1"},
		{"availability a string", "defaults:\n  min_data_plane_availability: high\n", 2, "defaults.min_data_plane_availability", "want a number"},
		{"negative lost writes", "scenarios:\n  etcd-data-loss:\n    max_lost_acknowledged_writes: -1\n", 3, "scenarios.etcd-data-loss.max_lost_acknowledged_writes", "must not be negative"},
		{"fractional lost writes", "scenarios:\n  etcd-data-loss:\n    max_lost_acknowledged_writes: 1.5\n", 3, "scenarios.etcd-data-loss.max_lost_acknowledged_writes", "whole number"},
		{"both RPO bounds", "scenarios:\n  etcd-data-loss:\n    max_rpo: 1m\n    max_rpo_backup_intervals: 2\n", 3, "scenarios.etcd-data-loss.max_rpo", "not both"},
		{"zero backup intervals", "scenarios:\n  etcd-data-loss:\n    max_rpo_backup_intervals: 0\n", 3, "scenarios.etcd-data-loss.max_rpo_backup_intervals", "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("slo.yaml", []byte(tt.data))
			var ie *input.Error
			if !errors.As(err, &ie) {
				t.Fatalf("Parse() error = %v (%T), want an *input.Error", err, err)
			}
			if ie.File != "slo.yaml" || ie.Line != tt.line || ie.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Parse() error = %q (line %d, field %q), want line %d, field %q, message containing %q",
					err, ie.Line, ie.Field, tt.line, tt.field, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slo.yaml")
	if err := os.WriteFile(path, []byte("scenarios:\n  network-partition:\n    max_rto: 15m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.For(NetworkPartition).MaxRTO.D(); got != 15*time.Minute {
		t.Errorf("max_rto %v", got)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !input.Is(err) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) = %v, want an input error naming the file", err)
	}
}

func TestBuiltin(t *testing.T) {
	want := map[string]time.Duration{
		APIServerCrash:   60 * time.Second,
		KubeletCrash:     30 * time.Second,
		VMShutdown:       5 * time.Minute,
		EtcdDataLoss:     5 * time.Minute,
		NetworkPartition: 10 * time.Minute,
	}
	var nilConfig *Config
	for _, id := range Scenarios() {
		b := nilConfig.For(id)
		if b.MaxRTO == nil || b.MaxRTO.D() != want[id] {
			t.Errorf("%s: max_rto %v, want %v", id, b.MaxRTO, want[id])
		}
		if b.MinDataPlaneAvailability == nil || *b.MinDataPlaneAvailability != 0.995 {
			t.Errorf("%s: availability %v, want 0.995", id, b.MinDataPlaneAvailability)
		}
		rpo := b.MaxRPOBackupIntervals != nil && *b.MaxRPOBackupIntervals == 1
		if rpo != (id == EtcdDataLoss) || b.MaxRPO != nil || b.MaxLostAcknowledgedWrites != nil {
			t.Errorf("%s: rpo bounds %+v", id, b)
		}
		if err := b.Validate(); err != nil {
			t.Errorf("%s: built-in bounds invalid: %v", id, err)
		}
	}
	if err := Builtin().Validate(); err != nil {
		t.Errorf("Builtin() invalid: %v", err)
	}
	if len(Scenarios()) != 5 || !Known(EtcdDataLoss) || Known("disk-full") {
		t.Error("scenario ids")
	}
}

// TestYAMLRoundTrip checks that a Config written with sigs.k8s.io/yaml (as a
// drill config embedding SLOs would be) parses back to the same bounds.
func TestYAMLRoundTrip(t *testing.T) {
	c := Builtin()
	c.Scenarios[EtcdDataLoss] = Bounds{MaxRPO: ptr(Duration(90 * time.Second)), MaxLostAcknowledgedWrites: ptr(100)}
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("round-trip.yaml", data)
	if err != nil {
		t.Fatalf("Parse(Marshal(c)): %v\n%s", err, data)
	}
	for _, id := range Scenarios() {
		a, _ := yaml.Marshal(c.For(id))
		b, _ := yaml.Marshal(back.For(id))
		if string(a) != string(b) {
			t.Errorf("%s: %s != %s", id, a, b)
		}
	}
	var viaSigs Config
	if err := yaml.UnmarshalStrict(data, &viaSigs); err != nil {
		t.Fatalf("sigs.k8s.io/yaml cannot read it back: %v", err)
	}
	if viaSigs.Scenarios[EtcdDataLoss].MaxRPO.D() != 90*time.Second {
		t.Errorf("sigs.k8s.io/yaml read %+v", viaSigs.Scenarios[EtcdDataLoss])
	}
}

func TestBoundsValidate(t *testing.T) {
	if err := (Bounds{MaxRTO: ptr(Duration(-1))}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "max_rto: ") {
		t.Errorf("Validate() = %v", err)
	}
	c := &Config{Scenarios: map[string]Bounds{"disk-full": {}}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "scenarios.disk-full: unknown scenario id") {
		t.Errorf("Validate() = %v", err)
	}
}
