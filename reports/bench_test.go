package reports

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kdrill/kdrill/harness/results"
)

// BenchmarkGameDay measures the target of issue 5: the report of a
// one-hour game day (five scenarios, over 100,000 probe samples, flapping
// lanes) renders in at most 2 s into at most 2 MiB. "file" is the whole
// job of kdrill report: read and validate the results file, render the
// HTML; "html" and "junit" render an already parsed file. Figures are in
// docs/benchmarks.md.
func BenchmarkGameDay(b *testing.B) {
	f := gameDay(b)
	path := filepath.Join(b.TempDir(), "results.json")
	if err := results.Write(path, f); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	var page bytes.Buffer
	if err := HTML(&page, f, Options{}); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d samples in %d scenarios; results file %d bytes, HTML %d bytes", samples(f), len(f.Scenarios), info.Size(), page.Len())

	b.Run("file", func(b *testing.B) {
		for b.Loop() {
			f, err := results.Read(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := HTML(io.Discard, f, Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(page.Len()), "html-bytes")
		b.ReportMetric(float64(samples(f)), "samples")
	})
	b.Run("html", func(b *testing.B) {
		for b.Loop() {
			if err := HTML(io.Discard, f, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("junit", func(b *testing.B) {
		for b.Loop() {
			if err := JUnit(io.Discard, f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
