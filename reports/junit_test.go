package reports

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kdrill/kdrill/harness/results"
)

// junitDoc is what CI systems read of a JUnit file.
type junitDoc struct {
	XMLName xml.Name `xml:"testsuites"`
	Suites  []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Time    string `xml:"time,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	tests := []struct {
		name string
		file func(t *testing.T) *results.File
		// per testcase: "" passed, else the failure (F:) or error (E:)
		// message must contain each ;-separated part
		want []string
	}{
		{"real kind drill", func(t *testing.T) *results.File { return readFile(t, realDrill) }, []string{"", ""}},
		{"real apiserver-crash drill", func(t *testing.T) *results.File { return readFile(t, realAPIServer) }, []string{""}},
		{"docs example", docExample, []string{"", "E:stop node kdrill-control-plane: no such container"}},
		{"failed run", func(*testing.T) *results.File { return failedFile() }, []string{
			"F:rto: measured 75.5 s, bound ≤ 60 s, missed by 15.5 s;" +
				"data_plane_availability: measured 98.333 %, bound ≥ 99.5 %, missed by 1.1667 pp;" +
				"lost_acknowledged_writes: measured 3, bound ≤ 0, missed by 3",
			"E:restore etcd: no backup found in /var/backups <none>",
			"",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.file(t)
			var buf bytes.Buffer
			if err := JUnit(&buf, f); err != nil {
				t.Fatal(err)
			}
			var doc junitDoc
			if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("JUnit output does not parse: %v\n%s", err, buf.String())
			}
			if len(doc.Suites) != 1 {
				t.Fatalf("%d testsuites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			if s.Tests != len(f.Scenarios) || len(s.Cases) != len(f.Scenarios) {
				t.Fatalf("tests=%d with %d testcases, want %d", s.Tests, len(s.Cases), len(f.Scenarios))
			}
			var failures, errs int
			for i, c := range s.Cases {
				sc := f.Scenarios[i]
				if c.Name != sc.ID {
					t.Errorf("testcase %d is %q, want %q", i, c.Name, sc.ID)
				}
				want := tt.want[i]
				switch {
				case want == "":
					if c.Failure != nil || c.Error != nil {
						t.Errorf("%s: passed, but has failure %v error %v", sc.ID, c.Failure, c.Error)
					}
				case strings.HasPrefix(want, "F:"):
					failures++
					if c.Failure == nil || c.Error != nil {
						t.Fatalf("%s: want a failure, got failure %v error %v", sc.ID, c.Failure, c.Error)
					}
					for _, part := range strings.Split(want[2:], ";") {
						if !strings.Contains(c.Failure.Message, part) {
							t.Errorf("%s: failure message %q lacks %q", sc.ID, c.Failure.Message, part)
						}
					}
					if !strings.Contains(c.Failure.Body, "[pass]") && !strings.Contains(c.Failure.Body, "[fail]") {
						t.Errorf("%s: failure body does not list the checks: %q", sc.ID, c.Failure.Body)
					}
				case strings.HasPrefix(want, "E:"):
					errs++
					if c.Error == nil || c.Failure != nil {
						t.Fatalf("%s: want an error, got failure %v error %v", sc.ID, c.Failure, c.Error)
					}
					if !strings.Contains(c.Error.Message, want[2:]) {
						t.Errorf("%s: error message %q lacks %q", sc.ID, c.Error.Message, want[2:])
					}
				}
				if strings.Contains(c.Time, ",") || c.Time == "" {
					t.Errorf("%s: time %q", sc.ID, c.Time)
				}
			}
			if s.Failures != failures || s.Errors != errs {
				t.Errorf("suite counts failures=%d errors=%d, want %d %d", s.Failures, s.Errors, failures, errs)
			}
			props := map[string]string{}
			for _, p := range s.Props {
				props[p.Name] = p.Value
			}
			if props["provider"] != f.Run.Provider || props["kubernetes_version"] != f.Run.KubernetesVersion {
				t.Errorf("properties %v", props)
			}
		})
	}
}

func TestJUnitNothingOnError(t *testing.T) {
	if err := JUnit(errWriter{}, failedFile()); err == nil {
		t.Error("JUnit() to a failing writer succeeded")
	}
	var buf bytes.Buffer
	if err := JUnit(&buf, nil); err == nil || buf.Len() != 0 {
		t.Errorf("JUnit(nil) = %v and wrote %d bytes", err, buf.Len())
	}
}
