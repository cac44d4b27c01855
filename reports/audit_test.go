package reports

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

// auditChecks are the four checks of an AWS audit, two of them failing;
// one reason holds markup, which must stay text.
func auditChecks() []results.AuditCheck {
	return []results.AuditCheck{
		{Name: "status-check-alarm", Reason: "alarm kdrill-i-0abc-status-reboot: threshold is 2, want 1"},
		{Name: "etcd-on-persistent-volume", Pass: true, Reason: "etcd's data directory /var/lib/etcd is on EBS volume vol-0def (/dev/nvme1n1), kept when i-0abc terminates"},
		{Name: "etcd-backup-restorable", Reason: "the newest snapshot, s3://b/<etcd>.db, is 3h0m0s old: older than the backup interval 1h0m0s"},
		{Name: "control-plane-zone", Pass: true, Reason: "option 2: the control plane shares zone eu-west-1a with workers ip-10-0-1-11"},
	}
}

// auditOnly is what 'kdrill audit --out' writes: an audit, no scenario.
func auditOnly(checks []results.AuditCheck) *results.File {
	start := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	return &results.File{
		Schema:    results.Schema,
		Run:       results.Run{KdrillVersion: "v0.1.0", Provider: "aws", Start: start, End: start.Add(4 * time.Second)},
		Scenarios: []results.Scenario{},
		Audit:     &results.Audit{Target: "AWS instances tagged kdrill/cluster=prod in eu-west-1", Time: start, Checks: checks},
	}
}

// TestHTMLAudit: the page shows each audit check with its verdict and
// reason, and the audit counts in the overall verdict.
func TestHTMLAudit(t *testing.T) {
	allPass := auditChecks()
	for i := range allPass {
		allPass[i].Pass = true
	}
	withDrills := func(checks []results.AuditCheck) func(t *testing.T) *results.File {
		return func(t *testing.T) *results.File {
			f := readFile(t, realDrill)
			f.Audit = auditOnly(checks).Audit
			return f
		}
	}
	tests := []struct {
		name    string
		file    func(t *testing.T) *results.File
		overall slo.Verdict
		drills  bool // the drills' summary is on the page
	}{
		{"audit only, two failing", func(*testing.T) *results.File { return auditOnly(auditChecks()) }, slo.Fail, false},
		{"audit only, all passing", func(*testing.T) *results.File { return auditOnly(allPass) }, slo.Pass, false},
		{"drills and a failing audit", withDrills(auditChecks()), slo.Fail, true},
		{"drills and a passing audit", withDrills(allPass), slo.Pass, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.file(t)
			doc, raw := render(t, f)
			checkSelfContained(t, doc, raw)
			if got := Overall(f); got != tt.overall {
				t.Errorf("Overall() = %s, want %s", got, tt.overall)
			}
			overall := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == "overall" })
			if len(overall) != 1 || attr(overall[0], "data-verdict") != string(tt.overall) {
				t.Fatalf("overall verdict element %v, want data-verdict %s", overall, tt.overall)
			}
			failed := len(f.Audit.Failed())
			counts := text(overall[0])
			if want := "4 audit check(s): " + map[int]string{0: "4 passed, 0 failed", 2: "2 passed, 2 failed"}[failed]; !strings.Contains(counts, want) {
				t.Errorf("overall line %q lacks %q", counts, want)
			}
			if strings.Contains(counts, "Kubernetes ,") {
				t.Errorf("overall line %q names an empty Kubernetes version", counts)
			}

			sec := findAll(doc, func(n *html.Node) bool { return n.Data == "section" && attr(n, "id") == "audit" })
			if len(sec) != 1 {
				t.Fatalf("%d audit sections, want 1", len(sec))
			}
			if want := map[bool]string{true: "fail", false: "pass"}[failed > 0]; attr(sec[0], "data-verdict") != want {
				t.Errorf("audit section verdict %q, want %q", attr(sec[0], "data-verdict"), want)
			}
			if !strings.Contains(text(sec[0]), f.Audit.Target) {
				t.Errorf("audit section does not name the target %q", f.Audit.Target)
			}
			rows := findAll(sec[0], tag("tr", "audit-row"))
			if len(rows) != len(f.Audit.Checks) {
				t.Fatalf("%d audit rows, want %d", len(rows), len(f.Audit.Checks))
			}
			for i, c := range f.Audit.Checks {
				want := map[bool]string{true: "pass", false: "fail"}[c.Pass]
				cs := cells(rows[i])
				switch {
				case attr(rows[i], "data-check") != c.Name || cs[0] != c.Name:
					t.Errorf("row %d is %q (%q), want %s", i, attr(rows[i], "data-check"), cs[0], c.Name)
				case attr(rows[i], "data-verdict") != want || cs[1] != strings.ToUpper(want):
					t.Errorf("%s: verdict %q / %q, want %s", c.Name, attr(rows[i], "data-verdict"), cs[1], want)
				case cs[2] == "":
					t.Errorf("%s: no description of what it looks for", c.Name)
				case cs[3] != strings.Join(strings.Fields(c.Reason), " "):
					t.Errorf("%s: reason %q, want %q", c.Name, cs[3], c.Reason)
				}
			}

			summary := findAll(doc, tag("table", "summary"))
			bounds := findAll(doc, tag("table", "bounds"))
			if got := len(summary) == 1 && len(bounds) == 1; got != tt.drills {
				t.Errorf("drills' summary and bounds shown: %v, want %v", got, tt.drills)
			}
			if h1 := text(findAll(doc, tag("h1"))[0]); !tt.drills && h1 != "kdrill audit report" {
				t.Errorf("heading %q, want the audit report's", h1)
			}
			if !bytes.Contains(raw, []byte("s3://b/&lt;etcd&gt;.db")) && failed > 0 {
				t.Error("a reason's markup was not escaped")
			}
		})
	}
}

// TestJUnitAudit: one testcase per audit check after the scenarios', a
// failure carrying the reason for each failing check.
func TestJUnitAudit(t *testing.T) {
	for _, f := range []*results.File{auditOnly(auditChecks()), func() *results.File {
		f := readFile(t, realDrill)
		f.Audit = auditOnly(auditChecks()).Audit
		return f
	}()} {
		var buf bytes.Buffer
		if err := JUnit(&buf, f); err != nil {
			t.Fatal(err)
		}
		var doc junitDoc
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("JUnit output does not parse: %v\n%s", err, buf.String())
		}
		s := doc.Suites[0]
		n := len(f.Scenarios)
		if s.Tests != n+4 || len(s.Cases) != n+4 {
			t.Fatalf("tests=%d with %d testcases, want %d", s.Tests, len(s.Cases), n+4)
		}
		if s.Failures != 2 {
			t.Errorf("failures=%d, want the 2 failing audit checks", s.Failures)
		}
		for i, c := range f.Audit.Checks {
			tc := s.Cases[n+i]
			switch {
			case tc.Name != c.Name:
				t.Errorf("testcase %d is %q, want %q", n+i, tc.Name, c.Name)
			case c.Pass && (tc.Failure != nil || tc.Error != nil):
				t.Errorf("%s passed, but has a failure or error", c.Name)
			case !c.Pass && (tc.Failure == nil || tc.Failure.Message != c.Reason || tc.Error != nil):
				t.Errorf("%s failed: want a failure with message %q, got %+v", c.Name, c.Reason, tc.Failure)
			}
		}
	}
}
