package input

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{Errorf("slo.yaml", 3, "scenarios.x", "unknown scenario id"), "slo.yaml:3: scenarios.x: unknown scenario id"},
		{Errorf("slo.yaml", 0, "", "empty"), "slo.yaml: empty"},
		{Errorf("", 0, "rate", "must be positive"), "rate: must be positive"},
		{&Error{}, "invalid input"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	wrapped := fmt.Errorf("load: %w", Errorf("f", 1, "", "bad"))
	if !Is(wrapped) {
		t.Error("Is(wrapped) = false")
	}
	if Is(errors.New("other")) {
		t.Error("Is(other) = true")
	}
}
