package slo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/input"
)

func TestParseSection(t *testing.T) {
	data := `target:
  name: lab
slo:
  defaults:
    min_data_plane_availability: 0.999
  scenarios:
    apiserver-crash:
      max_rto: 45s
probes: {}
`
	c, err := ParseSection("kdrill.yaml", []byte(data), "slo")
	if err != nil {
		t.Fatal(err)
	}
	if b := c.For(APIServerCrash); b.MaxRTO.D() != 45*time.Second || *b.MinDataPlaneAvailability != 0.999 {
		t.Errorf("apiserver-crash %+v", b)
	}
	for _, data := range []string{"", "target: {}\n", "slo:\n", "slo: ~\n"} {
		c, err := ParseSection("kdrill.yaml", []byte(data), "slo")
		if err != nil || c.Defaults.MinDataPlaneAvailability != nil || c.Scenarios != nil {
			t.Errorf("ParseSection(%q) = %+v, %v; want an empty Config", data, c, err)
		}
	}
}

// TestParseSectionErrors checks that errors in a section are located in
// the whole file, with the section's key in front of the field.
func TestParseSectionErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		line  int
		field string
		msg   string
	}{
		{"a list", "target: {}\nslo:\n  - 1m\n", 2, "slo", "want a mapping with defaults and scenarios, got a list"},
		{"unknown field", "target: {}\nslo:\n  default: {}\n", 3, "slo.default", "unknown field (known: defaults, scenarios)"},
		{"unknown scenario", "slo:\n  scenarios:\n\n    meteor-strike: {}\n", 4, "slo.scenarios.meteor-strike", `unknown scenario id "meteor-strike"`},
		{"bad bound", "a: 1\nb: 2\nslo:\n  scenarios:\n    vm-shutdown:\n      max_rto: 0s\n", 6, "slo.scenarios.vm-shutdown.max_rto", "must be positive"},
		{"malformed", "slo:\n  defaults: {\n", 2, "", "malformed YAML"},
		{"document a list", "- slo\n", 1, "", "want a mapping, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSection("kdrill.yaml", []byte(tt.data), "slo")
			var ie *input.Error
			if !errors.As(err, &ie) {
				t.Fatalf("ParseSection() error = %v, want an *input.Error", err)
			}
			if ie.File != "kdrill.yaml" || ie.Line != tt.line || ie.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ParseSection() error = %q (line %d, field %q), want line %d, field %q, message containing %q",
					err, ie.Line, ie.Field, tt.line, tt.field, tt.msg)
			}
		})
	}
}
