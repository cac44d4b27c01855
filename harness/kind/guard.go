package kind

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"
)

// MarkerFile is the file, in a cluster's state folder, that says kdrill's
// Up created the cluster. kdrill drills a kind cluster only if it carries
// one (or a config allow-lists it): a cluster someone made by hand with
// the same name may hold work that matters.
const MarkerFile = "created-by-kdrill.json"

// Marker is the content of MarkerFile.
type Marker struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Version is the kdrill build that created the cluster.
	Version string `json:"kdrill_version"`
}

// MarkerPath is where the marker of the cluster o names is.
func MarkerPath(o Options) string {
	o.defaults()
	return filepath.Join(clusterDir(o), MarkerFile)
}

// CreatedByKdrill reports whether Up created the cluster o names: its state
// folder holds a marker naming it. Down removes the folder, marker and all.
func CreatedByKdrill(o Options) bool {
	data, err := os.ReadFile(MarkerPath(o))
	if err != nil {
		return false
	}
	var m Marker
	if err := json.Unmarshal(data, &m); err != nil {
		return false
	}
	o.defaults()
	return m.Name == o.Name
}

// writeMarker records that Up created the cluster o names.
func writeMarker(o Options) error {
	data, err := json.MarshalIndent(Marker{Name: o.Name, Created: time.Now().UTC(), Version: buildVersion()}, "", "  ")
	if err != nil {
		return err
	}
	path := MarkerPath(o)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write marker of %s: %w", o.Name, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write marker of %s: %w", o.Name, err)
	}
	return nil
}

// buildVersion is the version of the running kdrill, from its build
// information: the module version, or the commit it was built from.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
			v = s.Value
		}
	}
	if v == "" {
		v = "unknown"
	}
	return v
}
