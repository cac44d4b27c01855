package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// routeProto is the routing protocol number the agent stamps on its routes.
// Listing and deleting by it means the agent only ever removes routes it
// installed itself, never one that Docker, kube-proxy or a person added.
// 201 is not assigned in iproute2's rt_protos.
const routeProto = "201"

// route is one podCIDR reached through another node.
type route struct {
	Dst string // canonical IPv4 prefix, e.g. 10.244.1.0/24
	Via string // the other node's InternalIP
}

// desiredRoutes returns, sorted by destination, a route for the IPv4
// podCIDR of every node except self. Nodes without a podCIDR or an IPv4
// InternalIP yet are skipped: the next resync picks them up.
func desiredRoutes(self string, nodes []corev1.Node) []route {
	var out []route
	for i := range nodes {
		n := &nodes[i]
		if n.Name == self {
			continue
		}
		via := internalIPv4(n)
		cidr := nodePodCIDRv4(n)
		if via == "" || cidr == "" {
			continue
		}
		out = append(out, route{Dst: cidr, Via: via})
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.Dst, b.Dst) })
	return slices.CompactFunc(out, func(a, b route) bool { return a.Dst == b.Dst })
}

// internalIPv4 returns the node's first IPv4 InternalIP, or "".
func internalIPv4(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
			return ip.String()
		}
	}
	return ""
}

// nodePodCIDRv4 returns the node's IPv4 podCIDR in canonical form, or "".
func nodePodCIDRv4(n *corev1.Node) string {
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
			return p.Masked().String()
		}
	}
	return ""
}

// ipRoute is the part of `ip -j route` output the agent reads.
type ipRoute struct {
	Dst     string `json:"dst"`
	Gateway string `json:"gateway"`
	Dev     string `json:"dev"`
}

// parseIPRoutes decodes the output of `ip -j -4 route show ...`.
func parseIPRoutes(out []byte) ([]ipRoute, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil, nil
	}
	var rs []ipRoute
	if err := json.Unmarshal(out, &rs); err != nil {
		return nil, fmt.Errorf("decode ip route output: %w", err)
	}
	return rs, nil
}

// parseOwnedRoutes turns `ip -j -4 route show proto 201` output into routes.
func parseOwnedRoutes(out []byte) ([]route, error) {
	rs, err := parseIPRoutes(out)
	if err != nil {
		return nil, err
	}
	routes := make([]route, 0, len(rs))
	for _, r := range rs {
		dst := r.Dst
		// ip prints host routes without their /32.
		if dst != "default" && !strings.Contains(dst, "/") {
			dst += "/32"
		}
		routes = append(routes, route{Dst: dst, Via: r.Gateway})
	}
	return routes, nil
}

// defaultRouteDev returns the interface of the first default route in
// `ip -j -4 route show default` output.
func defaultRouteDev(out []byte) (string, error) {
	rs, err := parseIPRoutes(out)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.Dev != "" {
			return r.Dev, nil
		}
	}
	return "", fmt.Errorf("no IPv4 default route")
}

// diffRoutes compares the routes the agent wants with those it owns now.
// replace holds routes that are missing or point at the wrong node; remove
// holds owned routes to podCIDRs no node has any more.
func diffRoutes(want, have []route) (replace, remove []route) {
	haveVia := make(map[string]string, len(have))
	for _, r := range have {
		haveVia[r.Dst] = r.Via
	}
	wanted := make(map[string]bool, len(want))
	for _, r := range want {
		wanted[r.Dst] = true
		if via, ok := haveVia[r.Dst]; !ok || via != r.Via {
			replace = append(replace, r)
		}
	}
	for _, r := range have {
		if !wanted[r.Dst] {
			remove = append(remove, r)
		}
	}
	return replace, remove
}

// routeReplaceArgs is the `ip` command line that installs r.
func routeReplaceArgs(r route) []string {
	return []string{"route", "replace", r.Dst, "via", r.Via, "proto", routeProto}
}

// routeDeleteArgs is the `ip` command line that removes r; naming the
// protocol makes the kernel refuse to delete a route the agent does not own.
func routeDeleteArgs(r route) []string {
	args := []string{"route", "del", r.Dst}
	if r.Via != "" {
		args = append(args, "via", r.Via)
	}
	return append(args, "proto", routeProto)
}
