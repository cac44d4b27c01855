// Package dockernet picks addresses on a Docker network for machines that
// are launched onto it by hand (docker run --ip): kind's re-provisioned
// control plane and the AWS stand-in's launched instances. Docker itself
// hands out the lowest free address, which may be a stopped machine's;
// a machine launched elsewhere must not take an address that rules made
// for the old one still name.
package dockernet

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
)

// FreeAddressFlags reads the output of `docker network inspect NETWORK`
// and picks, in each of the network's subnets, the highest address that no
// container on it holds, that is not the gateway and not in avoid. It
// returns them as docker run flags: --ip, --ip6.
func FreeAddressFlags(inspect []byte, avoid map[netip.Addr]bool) ([]string, error) {
	var nets []struct {
		Name string
		IPAM struct {
			Config []struct{ Subnet, Gateway string }
		}
		Containers map[string]struct{ IPv4Address, IPv6Address string }
	}
	if err := json.Unmarshal(inspect, &nets); err != nil || len(nets) != 1 {
		return nil, fmt.Errorf("parse docker network inspect: %v (%d networks)", err, len(nets))
	}
	used := maps.Clone(avoid)
	if used == nil {
		used = map[netip.Addr]bool{}
	}
	for _, c := range nets[0].Containers {
		for _, a := range []string{c.IPv4Address, c.IPv6Address} {
			if p, err := netip.ParsePrefix(a); err == nil {
				used[p.Addr()] = true
			}
		}
	}
	var flags []string
	for _, cfg := range nets[0].IPAM.Config {
		subnet, err := netip.ParsePrefix(cfg.Subnet)
		if err != nil {
			continue
		}
		if gw, err := netip.ParseAddr(cfg.Gateway); err == nil {
			used[gw] = true
		}
		ip, ok := HighestFree(subnet.Masked(), used)
		if !ok {
			return nil, fmt.Errorf("no free address in %s on network %s", subnet, nets[0].Name)
		}
		if ip.Is4() {
			flags = append(flags, "--ip", ip.String())
		} else {
			flags = append(flags, "--ip6", ip.String())
		}
	}
	return flags, nil
}

// HighestFree walks down from the top of subnet, past its last address
// (IPv4's broadcast), to the first address not in used, looking at no more
// than 1024.
func HighestFree(subnet netip.Prefix, used map[netip.Addr]bool) (netip.Addr, bool) {
	b := subnet.Addr().AsSlice()
	host := len(b)*8 - subnet.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	last, _ := netip.AddrFromSlice(b)
	ip := last.Prev()
	for i := 0; i < 1024 && ip.IsValid() && subnet.Contains(ip); i++ {
		if !used[ip] {
			return ip, true
		}
		ip = ip.Prev()
	}
	return netip.Addr{}, false
}
