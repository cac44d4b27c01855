package reports

import (
	"testing"

	"github.com/kdrill/kdrill/harness/slo"
)

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{seconds(45.747158367), "45.747 s"},
		{seconds(300), "300 s"},
		{seconds(0), "0 s"},
		{percent(1), "100 %"},
		{percent(0.995), "99.5 %"},
		{percent(0.26229508196721313), "26.23 %"},
		{percent(0.9999999), "99.99999 %"},
		{rel(0), "0 s"},
		{rel(1.668024913), "+1.668 s"},
		{rel(-7.3357), "−7.336 s"},
		{rel(59.9996), "+1 min"},
		{rel(61.25), "+1 min 01.25 s"},
		{rel(300), "+5 min"},
		{rel(725.5), "+12 min 05.5 s"},
		{span(45.04), "45 s"},
		{span(300), "5 min"},
		{span(3725), "1 h 2 min 5 s"},
		{latency(0.000795763), "0.796 ms"},
		{latency(1.5), "1.5 s"},
		{count(100000), "100,000"},
		{count(-1234), "-1,234"},
		{signed(0.0050000000000000044*100, 4), "+0.5"},
		{signed(-15.5, 3), "−15.5"},
		{tickLabel(-120, 60), "−2 min"},
		{tickLabel(30, 10), "+30 s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// A measurement just under its bound must not read as the bound.
	m, b := percentPair(0.99499999, 0.995)
	if m == b {
		t.Errorf("percentPair(0.99499999, 0.995) = %q, %q: they read the same", m, b)
	}
	if m, b := percentPair(0.995, 0.995); m != "99.5 %" || b != "99.5 %" {
		t.Errorf("percentPair(0.995, 0.995) = %q, %q", m, b)
	}
}

func TestCheckLine(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	tests := []struct {
		c    slo.Check
		want string
	}{
		{slo.Check{Name: "rto", Unit: "seconds", Measured: v(75.2), Bound: 60, Kind: "max", Margin: v(-15.2), Verdict: slo.Fail, Detail: "api-write back up 75.2s after the fault"},
			"rto: measured 75.2 s, bound ≤ 60 s, missed by 15.2 s (api-write back up 75.2s after the fault)"},
		{slo.Check{Name: "data_plane_availability", Unit: "ratio", Measured: v(0.991), Bound: 0.995, Kind: "min", Margin: v(-0.004), Verdict: slo.Fail},
			"data_plane_availability: measured 99.1 %, bound ≥ 99.5 %, missed by 0.4 pp"},
		{slo.Check{Name: "rto", Unit: "seconds", Bound: 60, Kind: "max", Verdict: slo.Error, Detail: "no fault-injected event"},
			"rto: not measured, bound ≤ 60 s (no fault-injected event)"},
		{slo.Check{Name: "mitigation_acted", Unit: "expectation", Measured: v(0), Bound: 1, Verdict: slo.Fail, Detail: "no reboot"},
			"mitigation_acted: did not hold (no reboot)"},
		{slo.Check{Name: "lost_acknowledged_writes", Unit: "writes", Measured: v(0), Bound: 0, Kind: "max", Margin: v(0), Verdict: slo.Pass},
			"lost_acknowledged_writes: measured 0, bound ≤ 0, margin 0"},
		{slo.Check{Name: "odd", Unit: "pods", Measured: v(3), Bound: 2, Kind: "max", Margin: v(-1), Verdict: slo.Fail},
			"odd: measured 3 pods, bound ≤ 2 pods, missed by 1 pods"},
	}
	for _, tt := range tests {
		if got := checkLine(tt.c); got != tt.want {
			t.Errorf("checkLine(%s) =\n %q, want\n %q", tt.c.Name, got, tt.want)
		}
	}
}
