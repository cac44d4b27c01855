package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kdrill/kdrill/harness/results"
)

// Paths says where Write puts each report; an empty path skips that report.
type Paths struct {
	HTML  string
	JUnit string
}

// Write renders the reports of f and writes each to its path atomically: a
// reader sees the old file or the whole new one. Every report is rendered
// and written to a temporary file beside its path before any is renamed
// into place, so a rendering or disk error leaves no report behind, new or
// partial.
func Write(p Paths, f *results.File, o Options) (err error) {
	type out struct {
		path, tmp string
		data      []byte
	}
	var outs []*out
	if p.HTML != "" {
		var b bytes.Buffer
		if err := HTML(&b, f, o); err != nil {
			return err
		}
		outs = append(outs, &out{path: p.HTML, data: b.Bytes()})
	}
	if p.JUnit != "" {
		var b bytes.Buffer
		if err := JUnit(&b, f); err != nil {
			return err
		}
		outs = append(outs, &out{path: p.JUnit, data: b.Bytes()})
	}
	defer func() {
		for _, o := range outs {
			if o.tmp != "" {
				_ = os.Remove(o.tmp)
			}
		}
	}()
	for _, o := range outs {
		if o.tmp, err = writeTemp(o.path, o.data); err != nil {
			return err
		}
	}
	for _, o := range outs {
		if err := os.Rename(o.tmp, o.path); err != nil {
			return fmt.Errorf("write report %s: %w", o.path, err)
		}
		o.tmp = ""
	}
	return nil
}

// writeTemp writes data to a new temporary file in path's folder and
// returns its name.
func writeTemp(path string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("write report %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("write report %s: %w", path, err)
	}
	return tmp.Name(), nil
}
