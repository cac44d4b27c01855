package kind

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestMarker(t *testing.T) {
	state := t.TempDir()
	lab := Options{Name: "lab", StateDir: state}
	if CreatedByKdrill(lab) {
		t.Fatal("CreatedByKdrill() before the marker")
	}
	if err := writeMarker(lab); err != nil {
		t.Fatal(err)
	}
	if !CreatedByKdrill(lab) {
		t.Error("CreatedByKdrill() = false after writeMarker")
	}
	if want := filepath.Join(state, "clusters", "lab", MarkerFile); MarkerPath(lab) != want {
		t.Errorf("MarkerPath() = %s, want %s", MarkerPath(lab), want)
	}
	var m Marker
	data, _ := os.ReadFile(MarkerPath(lab))
	if err := json.Unmarshal(data, &m); err != nil || m.Name != "lab" || m.Created.IsZero() || m.Version == "" {
		t.Errorf("marker %s: %+v, %v", data, m, err)
	}
	if CreatedByKdrill(Options{Name: "lab2", StateDir: state}) {
		t.Error("another cluster counts as created")
	}
	// A marker copied from another cluster's folder does not count.
	other := Options{Name: "other", StateDir: state}
	if err := os.MkdirAll(filepath.Dir(MarkerPath(other)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(MarkerPath(other), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if CreatedByKdrill(other) {
		t.Error("a marker naming another cluster counts")
	}
	if err := os.WriteFile(MarkerPath(other), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if CreatedByKdrill(other) {
		t.Error("a corrupt marker counts")
	}
}
