package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	f := failedFile()
	tests := []struct {
		name    string
		paths   func(dir string) Paths
		wantErr string
		// files expected in dir afterwards, with a prefix of their content
		want map[string]string
	}{
		{"both", func(d string) Paths { return Paths{HTML: filepath.Join(d, "r.html"), JUnit: filepath.Join(d, "j.xml")} }, "",
			map[string]string{"r.html": "<!DOCTYPE html>", "j.xml": xml.Header}},
		{"html only", func(d string) Paths { return Paths{HTML: filepath.Join(d, "r.html")} }, "",
			map[string]string{"r.html": "<!DOCTYPE html>"}},
		{"junit only", func(d string) Paths { return Paths{JUnit: filepath.Join(d, "j.xml")} }, "",
			map[string]string{"j.xml": xml.Header}},
		{"junit folder missing", func(d string) Paths {
			return Paths{HTML: filepath.Join(d, "r.html"), JUnit: filepath.Join(d, "no", "such", "j.xml")}
		}, "no such file or directory", map[string]string{}},
		{"html path is a folder", func(d string) Paths {
			os.Mkdir(filepath.Join(d, "r.html"), 0o755)
			return Paths{HTML: filepath.Join(d, "r.html"), JUnit: filepath.Join(d, "j.xml")}
		}, "r.html", map[string]string{"r.html": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Write(tt.paths(dir), f, Options{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Write() = %v, want an error containing %q", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if len(names) != len(tt.want) {
				t.Errorf("folder holds %v, want only %v (no temporary files, no partial reports)", names, tt.want)
			}
			for name, prefix := range tt.want {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if prefix == "" {
					continue // a folder, left alone
				}
				if err != nil || !bytes.HasPrefix(data, []byte(prefix)) {
					t.Errorf("%s: %v, starts %.40q", name, err, data)
				}
			}
		})
	}
}

// TestWriteKeepsOldReport: a failed write leaves the previous report.
func TestWriteKeepsOldReport(t *testing.T) {
	dir := t.TempDir()
	p := Paths{HTML: filepath.Join(dir, "r.html"), JUnit: filepath.Join(dir, "missing", "j.xml")}
	if err := os.WriteFile(p.HTML, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, failedFile(), Options{}); err == nil {
		t.Fatal("Write() into a missing folder succeeded")
	}
	if data, _ := os.ReadFile(p.HTML); string(data) != "old" {
		t.Errorf("the old report was replaced by %.40q", data)
	}
}
