package dockernet

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestHighestFree(t *testing.T) {
	tests := []struct {
		subnet string
		used   []string
		want   string
	}{
		{"172.19.0.0/16", nil, "172.19.255.254"},
		{"172.19.0.0/16", []string{"172.19.255.254", "172.19.255.253"}, "172.19.255.252"},
		{"10.0.0.0/30", []string{"10.0.0.2"}, "10.0.0.1"},
		{"fc00:f853:ccd:e793::/64", nil, "fc00:f853:ccd:e793:ffff:ffff:ffff:fffe"},
	}
	for _, tt := range tests {
		used := map[netip.Addr]bool{}
		for _, u := range tt.used {
			used[netip.MustParseAddr(u)] = true
		}
		got, ok := HighestFree(netip.MustParsePrefix(tt.subnet), used)
		if !ok || got.String() != tt.want {
			t.Errorf("HighestFree(%s, %v) = %v, %v; want %s", tt.subnet, tt.used, got, ok, tt.want)
		}
	}
	if _, ok := HighestFree(netip.MustParsePrefix("10.0.0.0/30"), map[netip.Addr]bool{netip.MustParseAddr("10.0.0.2"): true, netip.MustParseAddr("10.0.0.1"): true, netip.MustParseAddr("10.0.0.0"): true}); ok {
		t.Error("a full subnet must have no free address")
	}
}

func TestFreeAddressFlags(t *testing.T) {
	inspect := []byte(`[{"Name":"kind","IPAM":{"Config":[{"Subnet":"172.19.0.0/16","Gateway":"172.19.0.1"},{"Subnet":"fc00:f853:ccd:e793::/64","Gateway":"fc00:f853:ccd:e793::1"}]},
		"Containers":{"a":{"IPv4Address":"172.19.255.254/16","IPv6Address":"fc00:f853:ccd:e793:ffff:ffff:ffff:fffe/64"}}}]`)
	avoid := map[netip.Addr]bool{netip.MustParseAddr("172.19.255.253"): true}
	got, err := FreeAddressFlags(inspect, avoid)
	if err != nil {
		t.Fatal(err)
	}
	want := "--ip 172.19.255.252 --ip6 fc00:f853:ccd:e793:ffff:ffff:ffff:fffd"
	if s := fmt.Sprint(strings.Join(got, " ")); s != want {
		t.Errorf("FreeAddressFlags = %s, want %s", s, want)
	}
	if len(avoid) != 1 {
		t.Errorf("FreeAddressFlags changed avoid: %v", avoid)
	}
	if _, err := FreeAddressFlags([]byte("[]"), nil); err == nil {
		t.Error("no network: want an error")
	}
}
