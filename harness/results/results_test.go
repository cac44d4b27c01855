package results

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/input"
	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// sample builds a results file from an apiserver-crash drill the way a
// runner would: attempts and events → timeline → evaluation → scenario.
func sample(t *testing.T) *File {
	t.Helper()
	var as []probe.Attempt
	for i := range 20 {
		start := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		as = append(as,
			probe.Attempt{Prober: probe.APIRead, Seq: uint64(i + 1), Start: start, Duration: 3 * time.Millisecond, OK: i < 4 || i > 9},
			probe.Attempt{Prober: probe.APIWrite, Seq: uint64(i + 1), Start: start, Duration: 5 * time.Millisecond, OK: i < 4 || i > 10},
			probe.Attempt{Prober: probe.DataPlane, Seq: uint64(i + 1), Start: start, Duration: time.Millisecond, OK: true,
				Attrs: map[string]string{"pod": "kdrill-echo-1"}},
		)
	}
	events := []timeline.Event{
		{Time: t0.Add(1900 * time.Millisecond), Kind: timeline.FaultInjected, Source: slo.APIServerCrash, Attrs: map[string]string{"node": "kdrill-control-plane"}},
		{Time: t0.Add(6 * time.Second), Kind: timeline.FaultReverted, Source: slo.APIServerCrash},
	}
	tl := timeline.Build(t0, t0.Add(10*time.Second), as, events, timeline.Options{Debounce: 2})
	report := ledger.Verify([]ledger.Write{
		{Seq: 1, Start: t0, Acked: t0.Add(time.Millisecond)},
		{Seq: 2, Start: t0.Add(time.Second), Acked: t0.Add(1001 * time.Millisecond)},
	}, []ledger.Observed{{Seq: 1}, {Seq: 2}})
	in := slo.Input{
		Scenario:  slo.APIServerCrash,
		Bounds:    (*slo.Config)(nil).For(slo.APIServerCrash),
		Timeline:  tl,
		Summaries: probe.Summarize(as),
		Writes:    &report,
	}
	sc := NewScenario(slo.Evaluate(in), in)
	return &File{
		Run: Run{
			KdrillVersion: "v0.1.0", Provider: "kind", KubernetesVersion: "v1.35.4",
			NodeImage: "kdrill/node:v1.35.4-abc", Start: t0, End: t0.Add(10 * time.Second),
		},
		Scenarios: []Scenario{sc, Errored(slo.VMShutdown, errors.New("stop node kdrill-control-plane: no such container"))},
	}
}

func TestRoundTrip(t *testing.T) {
	f := sample(t)
	sc := f.Scenarios[0]
	if sc.Verdict != slo.Pass || *sc.RTOSeconds != 3.6 || *sc.DataPlaneAvailability != 1 || *sc.LostAcknowledgedWrites != 0 {
		t.Fatalf("sample scenario: %s rto %v availability %v lost %v (%s)", sc.Verdict, *sc.RTOSeconds, *sc.DataPlaneAvailability, *sc.LostAcknowledgedWrites, sc.Reason)
	}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(f)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("round trip changed the file:\n%s\n%s", a, b)
	}
	if got.Schema != Schema || got.Scenarios[1].Verdict != slo.Error || got.Scenarios[1].RTOSeconds != nil {
		t.Errorf("read back %+v", got.Scenarios[1])
	}
	if outs := got.Scenarios[0].Timeline.Outages(probe.APIWrite); len(outs) != 1 || outs[0].End.Seconds() != 5.5 {
		t.Errorf("outages derived after reading: %+v", outs)
	}
	// No temporary file is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the results file", len(entries))
	}
}

// TestFieldNames pins the JSON names that reports and CI rely on.
func TestFieldNames(t *testing.T) {
	b, err := json.Marshal(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Schema    string                       `json:"schema"`
		Run       map[string]any               `json:"run"`
		Scenarios []map[string]json.RawMessage `json:"scenarios"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kdrill_version", "provider", "kubernetes_version", "node_image", "start", "end"} {
		if _, ok := raw.Run[k]; !ok {
			t.Errorf("run.%s missing", k)
		}
	}
	for _, k := range []string{"id", "verdict", "rto_seconds", "data_plane_availability", "lost_acknowledged_writes", "rpo_seconds", "slo", "checks", "writes", "timeline", "probers"} {
		if _, ok := raw.Scenarios[0][k]; !ok {
			t.Errorf("scenarios[0].%s missing", k)
		}
	}
	var bounds map[string]float64
	_ = json.Unmarshal(raw.Scenarios[0]["slo"], &bounds)
	if bounds["max_rto_seconds"] != 60 || bounds["min_data_plane_availability"] != 0.995 {
		t.Errorf("slo %v", bounds)
	}
	var tl struct {
		Width   *float64 `json:"latency_bucket_seconds"`
		Probers []struct {
			Prober  string           `json:"prober"`
			Latency []map[string]any `json:"latency"`
		} `json:"probers"`
	}
	_ = json.Unmarshal(raw.Scenarios[0]["timeline"], &tl)
	if tl.Width == nil || *tl.Width != 1 {
		t.Errorf("timeline.latency_bucket_seconds = %v, want 1", tl.Width)
	}
	for _, tr := range tl.Probers {
		if len(tr.Latency) == 0 {
			t.Errorf("prober %s has no latency series", tr.Prober)
			continue
		}
		for _, k := range []string{"at_seconds", "n", "failures", "p50_seconds", "max_seconds"} {
			if _, ok := tr.Latency[0][k]; !ok {
				t.Errorf("timeline.probers[%s].latency[0].%s missing", tr.Prober, k)
			}
		}
	}
	// Measurements of an errored scenario are null, not absent.
	if string(raw.Scenarios[1]["rto_seconds"]) != "null" {
		t.Errorf("errored scenario rto_seconds = %s, want null", raw.Scenarios[1]["rto_seconds"])
	}
}

func TestReadBadFiles(t *testing.T) {
	good, err := json.Marshal(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string // "" with missing: no file at all
		want string
	}{
		{"missing", "", "no such results file"},
		{"empty", " \n", "empty file"},
		{"truncated", string(good[:len(good)/2]), "truncated"},
		{"not JSON", "schema: kdrill/results/v1\n", "malformed JSON"},
		{"not an object", "[1, 2]", "not a JSON object"},
		{"no schema", `{"run": {}, "scenarios": []}`, "schema: missing"},
		{"wrong schema", `{"schema": "kdrill/results/v2", "scenarios": []}`, `schema: is "kdrill/results/v2", this kdrill reads "kdrill/results/v1"`},
		{"wrong type", "{\"schema\": \"kdrill/results/v1\",\n \"scenarios\": [{\"id\": \"x\", \"verdict\": \"pass\", \"rto_seconds\": \"fast\"}]}", `:2: scenarios.rto_seconds: want float64, got JSON string`},
		{"bad verdict", `{"schema": "kdrill/results/v1", "scenarios": [{"id": "x", "verdict": "ok"}]}`, `scenarios[0].verdict: is "ok"`},
		{"no id", `{"schema": "kdrill/results/v1", "scenarios": [{"verdict": "pass"}]}`, `scenarios[0].id: missing`},
		{"duplicate id", `{"schema": "kdrill/results/v1", "scenarios": [{"id": "x", "verdict": "pass"}, {"id": "x", "verdict": "fail"}]}`, `scenarios[1].id: scenario "x" appears twice`},
		{"availability out of range", `{"schema": "kdrill/results/v1", "scenarios": [{"id": "x", "verdict": "pass", "data_plane_availability": 99.5}]}`, "want 0..1"},
		{"end before start", `{"schema": "kdrill/results/v1", "run": {"start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}}`, "run.end: is before run.start"},
		{"latency without a bucket width", latencyFile(``, `{"at_seconds": 0, "n": 2, "failures": 0, "p50_seconds": 0.001, "max_seconds": 0.002}`),
			"scenarios[0].timeline.latency_bucket_seconds: missing or not positive, but probers[0] has a latency series"},
		{"more failures than attempts", latencyFile(`"latency_bucket_seconds": 1,`, `{"at_seconds": 0, "n": 2, "failures": 3, "p50_seconds": null, "max_seconds": null}`),
			"scenarios[0].timeline.probers[0].latency[0].failures: is 3, want 0..n (2)"},
		{"negative latency", latencyFile(`"latency_bucket_seconds": 1,`, `{"at_seconds": 0, "n": 1, "failures": 0, "p50_seconds": -0.001, "max_seconds": 0.001}`),
			"latency[0].p50_seconds: is negative"},
		{"buckets out of order", latencyFile(`"latency_bucket_seconds": 1,`, `{"at_seconds": 2, "n": 1, "failures": 1, "p50_seconds": null, "max_seconds": null},
			{"at_seconds": 1, "n": 1, "failures": 1, "p50_seconds": null, "max_seconds": null}`),
			"latency[1].at_seconds: is not after the bucket before"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if tt.name != "missing" {
				if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Read(path)
			if err == nil {
				t.Fatal("Read() accepted a bad file")
			}
			if !input.Is(err) {
				t.Errorf("error %v is not an input error", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path) || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting with the file and containing %q", msg, tt.want)
			}
		})
	}
}

// latencyFile is a results file with one data-plane track whose timeline
// has width (a "latency_bucket_seconds" member and a comma, or nothing)
// and the latency buckets given.
func latencyFile(width, buckets string) string {
	return `{"schema": "kdrill/results/v1", "scenarios": [{"id": "x", "verdict": "pass", "timeline": {` + width + `
		"probers": [{"prober": "data-plane", "samples": 2, "transitions": [], "final": "up", "latency": [` + buckets + `]}]}}]}`
}

func TestWriteRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	err := Write(path, &File{Scenarios: []Scenario{{ID: "x", Verdict: "maybe"}}})
	if err == nil || input.Is(err) {
		t.Fatalf("Write() = %v, want a plain error: an invalid file is kdrill's bug", err)
	}
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Error("Write() left a file behind")
	}
	if err := Write(filepath.Join(dir, "no", "such", "dir.json"), &File{}); err == nil {
		t.Error("Write() into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	if err := Write(path, &File{Run: Run{Provider: "first"}}); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, &File{Run: Run{Provider: "second"}}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil || f.Run.Provider != "second" {
		t.Errorf("Read() = %+v, %v", f, err)
	}
}

func TestNewSLO(t *testing.T) {
	b := (*slo.Config)(nil).For(slo.EtcdDataLoss)
	s := NewSLO(b, 15*time.Minute)
	if *s.MaxRTOSeconds != 300 || *s.MaxRPOSeconds != 900 || *s.MaxRPOBackupIntervals != 1 || *s.BackupIntervalSeconds != 900 {
		t.Errorf("NewSLO = %+v", s)
	}
	if s := NewSLO(b, 0); s.MaxRPOSeconds != nil || s.BackupIntervalSeconds != nil {
		t.Errorf("unknown interval: %+v", s)
	}
	if NewWrites(nil) != nil {
		t.Error("NewWrites(nil) != nil")
	}
}
