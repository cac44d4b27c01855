package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args                 []string
		cmd, bundle, process string
	}{
		{[]string{"--root", "/run/r", "--log", "/l", "create", "--bundle", "/b", "id"}, "create", "/b", ""},
		{[]string{"create", "-b", "/b2", "--pid-file", "/p", "id"}, "create", "/b2", ""},
		{[]string{"--systemd-cgroup", "run", "--bundle=/b3", "id"}, "run", "/b3", ""},
		{[]string{"exec", "--process", "/proc.json", "--detach", "id"}, "exec", "", "/proc.json"},
		{[]string{"exec", "-p", "/p.json", "id"}, "exec", "", "/p.json"},
		{[]string{"--root", "/r", "state", "id"}, "state", "", ""},
		{[]string{"--version"}, "", "", ""},
	}
	for _, tt := range tests {
		cmd, bundle, process := parseArgs(tt.args)
		if cmd != tt.cmd || bundle != tt.bundle || process != tt.process {
			t.Errorf("parseArgs(%q) = %q, %q, %q; want %q, %q, %q", tt.args, cmd, bundle, process, tt.cmd, tt.bundle, tt.process)
		}
	}
}

func TestMissingFrom(t *testing.T) {
	all := uint64(1)<<len(capNames) - 1
	if got := missingFrom(all); len(got) != 0 {
		t.Errorf("full set: missing %v", got)
	}
	got := missingFrom(all &^ (1 << 24))
	if !reflect.DeepEqual(got, map[string]bool{"CAP_SYS_RESOURCE": true}) {
		t.Errorf("without bit 24: missing %v", got)
	}
}

func TestFilterFile(t *testing.T) {
	dir := t.TempDir()
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"args": []any{"/sbin/init"},
			"capabilities": map[string]any{
				"bounding":  []any{"CAP_CHOWN", "CAP_SYS_RESOURCE"},
				"effective": []any{"CAP_SYS_RESOURCE"},
				"permitted": []any{"CAP_CHOWN"},
			},
		},
	}
	data, _ := json.Marshal(spec)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := filterFile(path, map[string]bool{"CAP_SYS_RESOURCE": true}, true); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	data, _ = os.ReadFile(path)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	caps := got["process"].(map[string]any)["capabilities"].(map[string]any)
	want := map[string]any{
		"bounding":  []any{"CAP_CHOWN"},
		"effective": []any{},
		"permitted": []any{"CAP_CHOWN"},
	}
	if !reflect.DeepEqual(caps, want) {
		t.Errorf("capabilities = %v, want %v", caps, want)
	}
	if got["process"].(map[string]any)["args"].([]any)[0] != "/sbin/init" {
		t.Errorf("other fields lost: %v", got)
	}

	// A process file (runc exec --process) has the capabilities at the top.
	proc := filepath.Join(dir, "process.json")
	os.WriteFile(proc, []byte(`{"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}}`), 0o600)
	if err := filterFile(proc, map[string]bool{"CAP_SYS_RESOURCE": true}, false); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(proc)
	if string(data) != `{"capabilities":{"bounding":["CAP_KILL"]}}` {
		t.Errorf("process file = %s", data)
	}
}
