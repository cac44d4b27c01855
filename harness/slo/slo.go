package slo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The scenario ids (docs/scenarios.md).
const (
	APIServerCrash   = "apiserver-crash"
	KubeletCrash     = "kubelet-crash"
	VMShutdown       = "vm-shutdown"
	EtcdDataLoss     = "etcd-data-loss"
	NetworkPartition = "network-partition"
)

// Scenarios lists every scenario id in the order of docs/scenarios.md.
func Scenarios() []string {
	return []string{APIServerCrash, KubeletCrash, VMShutdown, EtcdDataLoss, NetworkPartition}
}

// Known reports whether id is a scenario id.
func Known(id string) bool { return slices.Contains(Scenarios(), id) }

// Duration is a time.Duration written as a Go duration string ("60s", "5m")
// in YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"90s\" or \"5m\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"90s\" or \"5m\", got %q", s)
	}
	*d = Duration(v)
	return nil
}

// Bounds are the SLOs of one scenario. A nil field is not checked (though
// what it bounds is still measured and reported).
type Bounds struct {
	// MaxRTO bounds the time from the fault's injection until every
	// recovery prober is back up.
	MaxRTO *Duration `json:"max_rto,omitempty"`
	// MinDataPlaneAvailability bounds the share of data-plane probe requests
	// that succeeded over the whole drill, 0..1.
	MinDataPlaneAvailability *float64 `json:"min_data_plane_availability,omitempty"`
	// MaxLostAcknowledgedWrites bounds how many acknowledged writes may be
	// missing after recovery.
	MaxLostAcknowledgedWrites *int `json:"max_lost_acknowledged_writes,omitempty"`
	// MaxRPO bounds the time span the lost acknowledged writes cover.
	MaxRPO *Duration `json:"max_rpo,omitempty"`
	// MaxRPOBackupIntervals bounds the same span in etcd backup intervals,
	// for when the bound follows the backup schedule. Set at most one of
	// MaxRPO and MaxRPOBackupIntervals.
	MaxRPOBackupIntervals *float64 `json:"max_rpo_backup_intervals,omitempty"`
}

// Config is one layer of SLOs: Defaults apply to every scenario, Scenarios
// override them per scenario id.
type Config struct {
	Defaults  Bounds            `json:"defaults,omitzero"`
	Scenarios map[string]Bounds `json:"scenarios,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// Builtin returns the default SLOs of docs/scenarios.md: data-plane
// availability of at least 99.5% over the whole drill; RTO within 60 s for
// apiserver-crash, 30 s for kubelet-crash, 5 min for vm-shutdown (alarm delay
// included) and etcd-data-loss, 10 min for network-partition; and for
// etcd-data-loss an RPO of at most one backup interval.
func Builtin() *Config {
	return &Config{
		Defaults: Bounds{MinDataPlaneAvailability: ptr(0.995)},
		Scenarios: map[string]Bounds{
			APIServerCrash:   {MaxRTO: ptr(Duration(60 * time.Second))},
			KubeletCrash:     {MaxRTO: ptr(Duration(30 * time.Second))},
			VMShutdown:       {MaxRTO: ptr(Duration(5 * time.Minute))},
			EtcdDataLoss:     {MaxRTO: ptr(Duration(5 * time.Minute)), MaxRPOBackupIntervals: ptr(1.0)},
			NetworkPartition: {MaxRTO: ptr(Duration(10 * time.Minute))},
		},
	}
}

// For returns the bounds of scenario id: the built-in defaults, overridden by
// c's defaults, overridden by c's entry for id. c may be nil.
func (c *Config) For(id string) Bounds {
	b := Builtin()
	out := overlay(b.Defaults, b.Scenarios[id])
	if c != nil {
		out = overlay(out, c.Defaults)
		out = overlay(out, c.Scenarios[id])
	}
	return out
}

// overlay returns base with every bound set in top replacing it. The two RPO
// bounds replace each other, so a file's max_rpo wins over a built-in
// max_rpo_backup_intervals.
func overlay(base, top Bounds) Bounds {
	if top.MaxRTO != nil {
		base.MaxRTO = top.MaxRTO
	}
	if top.MinDataPlaneAvailability != nil {
		base.MinDataPlaneAvailability = top.MinDataPlaneAvailability
	}
	if top.MaxLostAcknowledgedWrites != nil {
		base.MaxLostAcknowledgedWrites = top.MaxLostAcknowledgedWrites
	}
	if top.MaxRPO != nil {
		base.MaxRPO, base.MaxRPOBackupIntervals = top.MaxRPO, nil
	}
	if top.MaxRPOBackupIntervals != nil {
		base.MaxRPO, base.MaxRPOBackupIntervals = nil, top.MaxRPOBackupIntervals
	}
	return base
}

// fieldError is a validation failure at a path of YAML keys.
type fieldError struct {
	path []string
	msg  string
}

// Validate checks the bounds: durations positive, availability within 0..1,
// counts not negative, at most one RPO bound. The error names the field.
func (b Bounds) Validate() error {
	if errs := b.check(nil); len(errs) > 0 {
		return fmt.Errorf("%s: %s", strings.Join(errs[0].path, "."), errs[0].msg)
	}
	return nil
}

func (b Bounds) check(prefix []string) []fieldError {
	var errs []fieldError
	at := func(field, format string, args ...any) {
		errs = append(errs, fieldError{append(slices.Clone(prefix), field), fmt.Sprintf(format, args...)})
	}
	if b.MaxRTO != nil && *b.MaxRTO <= 0 {
		at("max_rto", "must be positive, got %v", b.MaxRTO.D())
	}
	if a := b.MinDataPlaneAvailability; a != nil && !(*a >= 0 && *a <= 1) {
		hint := ""
		if *a > 1 && *a <= 100 {
			hint = fmt.Sprintf(" (for %v%% write %v)", *a, *a/100)
		}
		at("min_data_plane_availability", "must be between 0 and 1, got %v%s", *a, hint)
	}
	if b.MaxLostAcknowledgedWrites != nil && *b.MaxLostAcknowledgedWrites < 0 {
		at("max_lost_acknowledged_writes", "must not be negative, got %d", *b.MaxLostAcknowledgedWrites)
	}
	if b.MaxRPO != nil && *b.MaxRPO <= 0 {
		at("max_rpo", "must be positive, got %v", b.MaxRPO.D())
	}
	if n := b.MaxRPOBackupIntervals; n != nil && !(*n > 0) {
		at("max_rpo_backup_intervals", "must be positive, got %v", *n)
	}
	if b.MaxRPO != nil && b.MaxRPOBackupIntervals != nil {
		at("max_rpo", "set either max_rpo or max_rpo_backup_intervals, not both")
	}
	return errs
}

// Validate checks every bound and that every scenario id is known.
func (c *Config) Validate() error {
	if errs := c.check(); len(errs) > 0 {
		return fmt.Errorf("%s: %s", strings.Join(errs[0].path, "."), errs[0].msg)
	}
	return nil
}

func (c *Config) check() []fieldError {
	errs := c.Defaults.check([]string{"defaults"})
	ids := make([]string, 0, len(c.Scenarios))
	for id := range c.Scenarios {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if !Known(id) {
			errs = append(errs, fieldError{[]string{"scenarios", id},
				fmt.Sprintf("unknown scenario id %q (known: %s)", id, strings.Join(Scenarios(), ", "))})
			continue
		}
		errs = append(errs, c.Scenarios[id].check([]string{"scenarios", id})...)
	}
	return errs
}
