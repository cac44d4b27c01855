package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

const (
	// conflistName sorts before anything else a node might carry, because the
	// container runtime uses the first config in lexical order.
	conflistName = "10-kdrill.conflist"
	// ipamDataDir is on tmpfs on purpose: after a node restart every pod
	// sandbox is recreated, so leases from the previous boot must not survive.
	ipamDataDir = "/run/cni-ipam-state"
	// cniVersion is the oldest version that still has everything the config
	// uses; it is what kindnetd writes, so any plugin set kind works with
	// accepts it.
	cniVersion = "0.3.1"
)

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type ptpPlugin struct {
	Type   string `json:"type"`
	IPMasq bool   `json:"ipMasq"`
	MTU    int    `json:"mtu"`
	IPAM   ipam   `json:"ipam"`
}

type ipam struct {
	Type    string          `json:"type"`
	DataDir string          `json:"dataDir"`
	Ranges  [][]ipamRange   `json:"ranges"`
	Routes  []ipamRouteSpec `json:"routes"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRouteSpec struct {
	Dst string `json:"dst"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	SNAT         bool            `json:"snat"`
}

// renderConflist returns the CNI config for a node whose pods take addresses
// from podCIDR and whose uplink has the given MTU.
func renderConflist(podCIDR string, mtu int) ([]byte, error) {
	prefix, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, fmt.Errorf("parse podCIDR %q: %w", podCIDR, err)
	}
	if !prefix.Addr().Is4() {
		return nil, fmt.Errorf("podCIDR %s is not IPv4", podCIDR)
	}
	if mtu < 68 || mtu > 65535 {
		return nil, fmt.Errorf("MTU %d out of range", mtu)
	}
	c := conflist{
		CNIVersion: cniVersion,
		Name:       "kdrill",
		Plugins: []any{
			ptpPlugin{
				Type: "ptp",
				// Masquerading is done once per node by the agent's own chain,
				// so that pod-to-pod traffic across nodes keeps pod source IPs.
				IPMasq: false,
				MTU:    mtu,
				IPAM: ipam{
					Type:    "host-local",
					DataDir: ipamDataDir,
					Ranges:  [][]ipamRange{{{Subnet: prefix.Masked().String()}}},
					Routes:  []ipamRouteSpec{{Dst: "0.0.0.0/0"}},
				},
			},
			portmapPlugin{
				Type:         "portmap",
				Capabilities: map[string]bool{"portMappings": true},
				// hostPort traffic from the node itself must be SNATed or the
				// reply bypasses conntrack on the way back.
				SNAT: true,
			},
		},
	}
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode conflist: %w", err)
	}
	return append(out, '\n'), nil
}

// writeFileIfChanged replaces path with data atomically, and only when the
// content differs, so the container runtime never sees a half-written config
// and is not made to reload an identical one every resync. It reports whether
// it wrote.
func writeFileIfChanged(path string, data []byte) (bool, error) {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	dir := filepath.Dir(path)
	// The temporary name ends in neither .conf, .conflist nor .json, so the
	// runtime, which watches this directory, ignores it.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return false, fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("rename %s to %s: %w", tmp.Name(), path, err)
	}
	return true, nil
}
