package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

// The JUnit XML that CI systems (Jenkins, GitLab, GitHub test reporters)
// render: one testsuite, one testcase per scenario and per audit check.
type (
	junitSuites struct {
		XMLName  xml.Name   `xml:"testsuites"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Time     string     `xml:"time,attr"`
		Suite    junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitProblem `xml:"failure"`
		Error     *junitProblem `xml:"error"`
		SystemOut *junitText    `xml:"system-out"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",cdata"`
	}
	// junitText keeps line breaks as they are (chardata would escape them).
	junitText struct {
		Text string `xml:",cdata"`
	}
)

// JUnit writes f as JUnit XML: one testsuite, one testcase per scenario,
// then one per audit check. A failed scenario's <failure> message names
// each broken SLO with what was measured and the bound; an errored one gets
// an <error> saying what could not be measured; a failed audit check gets a
// <failure> with its reason. The XML is built in memory first, so on error
// nothing is written to w.
func JUnit(w io.Writer, f *results.File) error {
	if f == nil {
		return fmt.Errorf("junit report: no results")
	}
	suite := junitSuite{
		Name:      "kdrill",
		Tests:     len(f.Scenarios),
		Timestamp: junitTime(f.Run.Start),
		Properties: []junitProperty{
			{"kdrill_version", f.Run.KdrillVersion},
			{"provider", f.Run.Provider},
			{"kubernetes_version", f.Run.KubernetesVersion},
			{"node_image", f.Run.NodeImage},
			{"results_schema", f.Schema},
		},
	}
	if f.Run.Provider != "" {
		suite.Name = "kdrill." + f.Run.Provider
	}
	var total float64
	for i := range f.Scenarios {
		s := &f.Scenarios[i]
		c := junitCase{Name: s.ID, Classname: suite.Name, Time: "0"}
		if s.Timeline != nil {
			c.Time = num(s.Timeline.Duration.Seconds(), 3)
			total += s.Timeline.Duration.Seconds()
		}
		var lines []string
		for _, ch := range s.Checks {
			lines = append(lines, fmt.Sprintf("[%s] %s", ch.Verdict, checkLine(ch)))
		}
		body := strings.Join(lines, "\n")
		switch s.Verdict {
		case slo.Fail:
			suite.Failures++
			c.Failure = &junitProblem{Message: problem(s, slo.Fail), Type: "slo", Body: withReason(s, body)}
		case slo.Error:
			suite.Errors++
			c.Error = &junitProblem{Message: problem(s, slo.Error), Type: "drill", Body: withReason(s, body)}
		default:
			if body != "" {
				c.SystemOut = &junitText{body}
			}
		}
		suite.Cases = append(suite.Cases, c)
	}
	if a := f.Audit; a != nil {
		// The audit's checks are test cases of their own: a CI test
		// reporter then lists each mitigation as present or missing.
		class := suite.Name + ".audit"
		for _, ch := range a.Checks {
			c := junitCase{Name: ch.Name, Classname: class, Time: "0"}
			if ch.Pass {
				c.SystemOut = &junitText{ch.Reason}
			} else {
				suite.Failures++
				msg := ch.Reason
				if msg == "" {
					msg = "audit check " + ch.Name + " failed with no reason given"
				}
				c.Failure = &junitProblem{Message: msg, Type: "audit", Body: msg}
			}
			suite.Cases = append(suite.Cases, c)
		}
		suite.Tests += len(a.Checks)
	}
	suite.Time = num(total, 3)
	doc := junitSuites{Name: "kdrill", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: suite.Time, Suite: suite}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	return nil
}

// problem is the one-line message of a failure or error: the checks with
// that verdict, each naming the bound and the measurement, or the
// scenario's reason when no check says it (the drill broke before one was
// made).
func problem(s *results.Scenario, v slo.Verdict) string {
	var parts []string
	for _, c := range s.Checks {
		if c.Verdict == v {
			parts = append(parts, checkLine(c))
		}
	}
	if len(parts) == 0 {
		if s.Reason != "" {
			return s.Reason
		}
		return fmt.Sprintf("scenario %s: %s with no check saying why", s.ID, v)
	}
	return strings.Join(parts, "; ")
}

func withReason(s *results.Scenario, body string) string {
	if s.Reason == "" {
		return body
	}
	if body == "" {
		return s.Reason
	}
	return s.Reason + "\n\n" + body
}

func junitTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}
