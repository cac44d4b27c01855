package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestRenderConflist(t *testing.T) {
	tests := []struct {
		name       string
		podCIDR    string
		mtu        int
		wantSubnet string
		wantErr    bool
	}{
		{name: "kind default", podCIDR: "10.244.1.0/24", mtu: 1500, wantSubnet: "10.244.1.0/24"},
		{name: "non-canonical is masked", podCIDR: "10.244.2.7/24", mtu: 1450, wantSubnet: "10.244.2.0/24"},
		{name: "garbage", podCIDR: "not-a-cidr", mtu: 1500, wantErr: true},
		{name: "empty", podCIDR: "", mtu: 1500, wantErr: true},
		{name: "ipv6", podCIDR: "fd00:10:244::/64", mtu: 1500, wantErr: true},
		{name: "zero MTU", podCIDR: "10.244.1.0/24", mtu: 0, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := renderConflist(tt.podCIDR, tt.mtu)
			if (err != nil) != tt.wantErr {
				t.Fatalf("renderConflist(%q, %d) error = %v, wantErr %v", tt.podCIDR, tt.mtu, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			// Decode generically so the test checks what the runtime will
			// read, not the Go structs that produced it.
			var c struct {
				CNIVersion string           `json:"cniVersion"`
				Name       string           `json:"name"`
				Plugins    []map[string]any `json:"plugins"`
			}
			if err := json.Unmarshal(out, &c); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if c.CNIVersion != cniVersion || c.Name == "" || len(c.Plugins) != 2 {
				t.Fatalf("unexpected conflist header/plugins:\n%s", out)
			}
			ptp, portmap := c.Plugins[0], c.Plugins[1]
			if ptp["type"] != "ptp" || ptp["ipMasq"] != false || ptp["mtu"] != float64(tt.mtu) {
				t.Errorf("ptp = %v", ptp)
			}
			ipam := ptp["ipam"].(map[string]any)
			if ipam["type"] != "host-local" || ipam["dataDir"] != "/run/cni-ipam-state" {
				t.Errorf("ipam = %v", ipam)
			}
			subnet := ipam["ranges"].([]any)[0].([]any)[0].(map[string]any)["subnet"]
			if subnet != tt.wantSubnet {
				t.Errorf("subnet = %v, want %s", subnet, tt.wantSubnet)
			}
			if dst := ipam["routes"].([]any)[0].(map[string]any)["dst"]; dst != "0.0.0.0/0" {
				t.Errorf("default route dst = %v", dst)
			}
			caps := portmap["capabilities"].(map[string]any)
			if portmap["type"] != "portmap" || caps["portMappings"] != true || portmap["snat"] != true {
				t.Errorf("portmap = %v", portmap)
			}
		})
	}
}

func TestWriteFileIfChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, conflistName)
	steps := []struct {
		data      string
		wantWrote bool
	}{
		{data: "a\n", wantWrote: true},  // new file
		{data: "a\n", wantWrote: false}, // same content: runtime not poked
		{data: "b\n", wantWrote: true},  // changed
	}
	for i, s := range steps {
		wrote, err := writeFileIfChanged(path, []byte(s.data))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if wrote != s.wantWrote {
			t.Errorf("step %d: wrote = %v, want %v", i, wrote, s.wantWrote)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != s.data {
			t.Errorf("step %d: content = %q, %v; want %q", i, got, err, s.data)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644", fi.Mode().Perm(), err)
	}
}
