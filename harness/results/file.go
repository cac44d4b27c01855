package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kdrill/kdrill/harness/input"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Write validates f and writes it to path atomically: readers see the old
// file or the whole new one, never a part. An empty Schema is set to Schema.
func Write(path string, f *File) (err error) {
	if f.Schema == "" {
		f.Schema = Schema
	}
	// A file kdrill made itself that does not validate is kdrill's bug, not
	// the user's: do not pass the input error on.
	if err := f.validate(); err != nil {
		return fmt.Errorf("write results %s: invalid results: %s", path, err.Error())
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	return nil
}

// Read reads and validates a results file. Every problem with the file is an
// *input.Error with a one-line message naming the file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, input.Errorf(path, 0, "", "no such results file")
		}
		return nil, input.Errorf(path, 0, "", "cannot read results file: %v", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates results file data; file names it in errors.
func Parse(file string, data []byte) (*File, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, input.Errorf(file, 0, "", "empty file, not a kdrill results file")
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(file, data, err)
	}
	switch {
	case head.Schema == nil:
		return nil, input.Errorf(file, 0, "schema", "missing; not a kdrill results file")
	case *head.Schema != Schema:
		return nil, input.Errorf(file, 0, "schema", "is %q, this kdrill reads %q", *head.Schema, Schema)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(file, data, err)
	}
	if err := f.validate(); err != nil {
		err.File = file
		return nil, err
	}
	return &f, nil
}

// jsonError turns a decoding error into a one-line input error.
func jsonError(file string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))):
		return input.Errorf(file, 0, "", "truncated: the JSON ends early")
	case errors.As(err, &syn):
		return input.Errorf(file, lineAt(data, syn.Offset), "", "malformed JSON: %v", syn)
	case errors.As(err, &typ) && typ.Field == "":
		return input.Errorf(file, 0, "", "not a JSON object, not a kdrill results file")
	case errors.As(err, &typ):
		return input.Errorf(file, lineAt(data, typ.Offset), typ.Field, "want %s, got JSON %s", typ.Type, typ.Value)
	}
	return input.Errorf(file, 0, "", "%s", oneLine(err.Error()))
}

func lineAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Validate checks what a results file promises its readers: the schema, an
// id and a known verdict for every scenario, ids unique, measurements in
// range, and a name for every audit check, names unique.
func (f *File) Validate() error {
	if err := f.validate(); err != nil {
		return err
	}
	return nil
}

func (f *File) validate() *input.Error {
	if f.Schema != Schema {
		return input.Errorf("", 0, "schema", "is %q, want %q", f.Schema, Schema)
	}
	if !f.Run.Start.IsZero() && !f.Run.End.IsZero() && f.Run.End.Before(f.Run.Start) {
		return input.Errorf("", 0, "run.end", "is before run.start")
	}
	seen := map[string]bool{}
	for i, s := range f.Scenarios {
		at := func(field string) string { return fmt.Sprintf("scenarios[%d].%s", i, field) }
		switch {
		case s.ID == "":
			return input.Errorf("", 0, at("id"), "missing")
		case seen[s.ID]:
			return input.Errorf("", 0, at("id"), "scenario %q appears twice", s.ID)
		}
		seen[s.ID] = true
		switch s.Verdict {
		case slo.Pass, slo.Fail, slo.Error:
		default:
			return input.Errorf("", 0, at("verdict"), "is %q, want pass, fail or error", s.Verdict)
		}
		if a := s.DataPlaneAvailability; a != nil && !(*a >= 0 && *a <= 1) {
			return input.Errorf("", 0, at("data_plane_availability"), "is %v, want 0..1", *a)
		}
		if r := s.RTOSeconds; r != nil && *r < 0 {
			return input.Errorf("", 0, at("rto_seconds"), "is negative")
		}
		if n := s.LostAcknowledgedWrites; n != nil && *n < 0 {
			return input.Errorf("", 0, at("lost_acknowledged_writes"), "is negative")
		}
		if err := validateLatency(s.Timeline, at("timeline")); err != nil {
			return err
		}
	}
	return validateAudit(f.Audit)
}

// validateAudit checks the audit section, if there is one.
func validateAudit(a *Audit) *input.Error {
	if a == nil {
		return nil
	}
	seen := map[string]bool{}
	for i, c := range a.Checks {
		at := fmt.Sprintf("audit.checks[%d].name", i)
		switch {
		case c.Name == "":
			return input.Errorf("", 0, at, "missing")
		case seen[c.Name]:
			return input.Errorf("", 0, at, "check %q appears twice", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// validateLatency checks the tracks' latency series, which the reports
// draw: counts that add up, latencies that are not negative, buckets of a
// known width in order.
func validateLatency(tl *timeline.Timeline, at string) *input.Error {
	if tl == nil {
		return nil
	}
	for i, tr := range tl.Probers {
		if len(tr.Latency) > 0 && tl.LatencyWidth <= 0 {
			return input.Errorf("", 0, at+".latency_bucket_seconds", "missing or not positive, but probers[%d] has a latency series", i)
		}
		for j, b := range tr.Latency {
			field := func(f string) string { return fmt.Sprintf("%s.probers[%d].latency[%d].%s", at, i, j, f) }
			switch {
			case j > 0 && b.At <= tr.Latency[j-1].At:
				return input.Errorf("", 0, field("at_seconds"), "is not after the bucket before")
			case b.N < 0:
				return input.Errorf("", 0, field("n"), "is negative")
			case b.Failures < 0 || b.Failures > b.N:
				return input.Errorf("", 0, field("failures"), "is %d, want 0..n (%d)", b.Failures, b.N)
			case b.P50 != nil && *b.P50 < 0:
				return input.Errorf("", 0, field("p50_seconds"), "is negative")
			case b.Max != nil && *b.Max < 0:
				return input.Errorf("", 0, field("max_seconds"), "is negative")
			}
		}
	}
	return nil
}
