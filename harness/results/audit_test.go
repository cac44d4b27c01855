package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/input"
)

// auditFile is what 'kdrill audit --out' writes: no scenarios, an audit.
func auditFile() *File {
	return &File{
		Run:       Run{KdrillVersion: "v0.1.0", Provider: "aws", Start: t0, End: t0.Add(3 * time.Second)},
		Scenarios: []Scenario{},
		Audit: &Audit{
			Target: "AWS instances tagged kdrill/cluster=test in us-east-1",
			Time:   t0.Add(time.Second),
			Checks: []AuditCheck{
				{Name: "status-check-alarm", Reason: "no CloudWatch alarm on AWS/EC2 StatusCheckFailed_Instance of i-0abc"},
				{Name: "etcd-backup-restorable", Pass: true, Reason: "the newest snapshot is 2m old and restores: 412 keys"},
			},
		},
	}
}

// TestAuditRoundTrip: a file with an audit section reads back as written,
// with the section's JSON names as docs/results.md gives them.
func TestAuditRoundTrip(t *testing.T) {
	f := auditFile()
	path := filepath.Join(t.TempDir(), "results.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Audit, f.Audit) {
		t.Errorf("audit read back as %+v, want %+v", got.Audit, f.Audit)
	}
	if want := []string{"status-check-alarm"}; !reflect.DeepEqual(got.Audit.Failed(), want) {
		t.Errorf("Failed() = %v, want %v", got.Audit.Failed(), want)
	}
	data, _ := os.ReadFile(path)
	var raw struct {
		Scenarios json.RawMessage `json:"scenarios"`
		Audit     struct {
			Target *string          `json:"target"`
			Time   *string          `json:"time"`
			Checks []map[string]any `json:"checks"`
		} `json:"audit"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw.Scenarios) != "[]" {
		t.Errorf("scenarios = %s, want []", raw.Scenarios)
	}
	if raw.Audit.Target == nil || raw.Audit.Time == nil || *raw.Audit.Time != "2025-01-01T12:00:01Z" {
		t.Errorf("audit target %v time %v", raw.Audit.Target, raw.Audit.Time)
	}
	for _, c := range raw.Audit.Checks {
		for _, k := range []string{"name", "pass", "reason"} {
			if _, ok := c[k]; !ok {
				t.Errorf("audit check %v lacks %q", c, k)
			}
		}
	}
}

// TestOldFilesHaveNoAudit: files from before the audit section existed
// still read, without one, and write back without one.
func TestOldFilesHaveNoAudit(t *testing.T) {
	for _, path := range []string{"../../reports/testdata/kind-drill.json", "../../reports/testdata/kind-apiserver-crash-latency.json"} {
		f, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Audit != nil || f.Audit.Failed() != nil {
			t.Errorf("%s: audit %+v, want none", path, f.Audit)
		}
		out := filepath.Join(t.TempDir(), "results.json")
		if err := Write(out, f); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		if strings.Contains(string(data), `"audit"`) {
			t.Errorf("%s written back with an audit member", path)
		}
	}
	sample := sample(t)
	b, _ := json.Marshal(sample)
	if strings.Contains(string(b), `"audit"`) {
		t.Error("a drill's file without an audit has an audit member")
	}
}

func TestAuditBadFiles(t *testing.T) {
	tests := []struct{ name, audit, want string }{
		{"check without a name", `{"checks": [{"pass": true, "reason": "x"}]}`, "audit.checks[0].name: missing"},
		{"check twice", `{"checks": [{"name": "a", "pass": true}, {"name": "a", "pass": false}]}`, `audit.checks[1].name: check "a" appears twice`},
		{"pass not a boolean", "{\"checks\": [{\"name\": \"a\", \"pass\": \"yes\"}]}", "want bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("results.json", []byte(`{"schema": "kdrill/results/v1", "scenarios": [], "audit": `+tt.audit+`}`))
			if err == nil || !input.Is(err) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse() = %v, want one input error line containing %q", err, tt.want)
			}
		})
	}
}

// TestDocAuditExample keeps the audit example in docs/results.md a valid
// results file.
func TestDocAuditExample(t *testing.T) {
	const path = "../../docs/results.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## The audit section")
	if !ok {
		t.Fatalf("%s has no audit section", path)
	}
	_, rest, ok := strings.Cut(section, "```json\n")
	if !ok {
		t.Fatalf("%s: the audit section has no JSON example", path)
	}
	example, _, _ := strings.Cut(rest, "```")
	f, err := Parse(path, []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if f.Audit == nil || len(f.Audit.Checks) != 4 || len(f.Scenarios) != 0 || f.Run.Provider != "aws" {
		t.Fatalf("example: provider %q, %d scenarios, audit %+v", f.Run.Provider, len(f.Scenarios), f.Audit)
	}
	if got := f.Audit.Failed(); len(got) != 1 || got[0] != "status-check-alarm" {
		t.Errorf("example's failed checks %v, want status-check-alarm", got)
	}
}
