package main

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// node builds a Node with the given podCIDRs and InternalIPs.
func node(name string, podCIDRs []string, internalIPs ...string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(podCIDRs) > 0 {
		n.Spec.PodCIDR = podCIDRs[0]
		n.Spec.PodCIDRs = podCIDRs
	}
	n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: name})
	for _, ip := range internalIPs {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	return n
}

func TestDesiredRoutes(t *testing.T) {
	legacyOnly := node("old", nil, "172.18.0.9")
	legacyOnly.Spec.PodCIDR = "10.244.9.0/24"
	tests := []struct {
		name  string
		self  string
		nodes []corev1.Node
		want  []route
	}{
		{
			name: "three nodes, self skipped, sorted",
			self: "kind-control-plane",
			nodes: []corev1.Node{
				node("kind-worker2", []string{"10.244.2.0/24"}, "172.18.0.4"),
				node("kind-control-plane", []string{"10.244.0.0/24"}, "172.18.0.2"),
				node("kind-worker", []string{"10.244.1.0/24"}, "172.18.0.3"),
			},
			want: []route{{"10.244.1.0/24", "172.18.0.3"}, {"10.244.2.0/24", "172.18.0.4"}},
		},
		{
			name: "node without podCIDR yet is skipped",
			self: "a",
			nodes: []corev1.Node{
				node("a", []string{"10.244.0.0/24"}, "172.18.0.2"),
				node("b", nil, "172.18.0.3"),
			},
		},
		{
			name: "node without InternalIP is skipped",
			self: "a",
			nodes: []corev1.Node{
				node("b", []string{"10.244.1.0/24"}),
			},
		},
		{
			name: "dual stack: only IPv4 CIDR and IPv4 address",
			self: "a",
			nodes: []corev1.Node{
				node("b", []string{"fd00:10:244:1::/64", "10.244.1.0/24"}, "fc00:f853:ccd:e793::3", "172.18.0.3"),
			},
			want: []route{{"10.244.1.0/24", "172.18.0.3"}},
		},
		{
			name:  "only spec.podCIDR set",
			self:  "a",
			nodes: []corev1.Node{legacyOnly},
			want:  []route{{"10.244.9.0/24", "172.18.0.9"}},
		},
		{
			name: "non-canonical CIDR is masked",
			self: "a",
			nodes: []corev1.Node{
				node("b", []string{"10.244.1.5/24"}, "172.18.0.3"),
			},
			want: []route{{"10.244.1.0/24", "172.18.0.3"}},
		},
		{
			name:  "no nodes",
			self:  "a",
			nodes: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := desiredRoutes(tt.self, tt.nodes)
			if !slices.Equal(got, tt.want) {
				t.Errorf("desiredRoutes() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseOwnedRoutes(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []route
		wantErr bool
	}{
		{name: "empty output", out: "", want: []route{}},
		{name: "empty list", out: "[ ]\n", want: []route{}},
		{
			name: "two routes",
			out: `[{"dst":"10.244.1.0/24","gateway":"172.18.0.3","dev":"eth0","protocol":"201","flags":[]},` +
				`{"dst":"10.244.2.0/24","gateway":"172.18.0.4","dev":"eth0","flags":[]}]`,
			want: []route{{"10.244.1.0/24", "172.18.0.3"}, {"10.244.2.0/24", "172.18.0.4"}},
		},
		{
			name: "host route gets its /32",
			out:  `[{"dst":"10.9.9.9","gateway":"172.18.0.3","dev":"eth0","flags":[]}]`,
			want: []route{{"10.9.9.9/32", "172.18.0.3"}},
		},
		{name: "not JSON", out: "10.244.1.0/24 via 172.18.0.3 dev eth0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOwnedRoutes([]byte(tt.out))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("parseOwnedRoutes() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDefaultRouteDev(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    string
		wantErr bool
	}{
		{
			name: "kind node",
			out:  `[{"dst":"default","gateway":"172.18.0.1","dev":"eth0","flags":[]}]`,
			want: "eth0",
		},
		{name: "no default route", out: `[]`, wantErr: true},
		{name: "no output", out: ``, wantErr: true},
		{name: "bad output", out: `{`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultRouteDev([]byte(tt.out))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("defaultRouteDev() = %q, %v; want %q, wantErr %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDiffRoutes(t *testing.T) {
	r1 := route{"10.244.1.0/24", "172.18.0.3"}
	r2 := route{"10.244.2.0/24", "172.18.0.4"}
	r2moved := route{"10.244.2.0/24", "172.18.0.9"}
	tests := []struct {
		name        string
		want, have  []route
		wantReplace []route
		wantRemove  []route
	}{
		{name: "nothing to do", want: []route{r1, r2}, have: []route{r1, r2}},
		{name: "fresh node", want: []route{r1, r2}, wantReplace: []route{r1, r2}},
		{name: "node gone", want: []route{r1}, have: []route{r1, r2}, wantRemove: []route{r2}},
		{name: "node readdressed", want: []route{r1, r2moved}, have: []route{r1, r2}, wantReplace: []route{r2moved}},
		{name: "all nodes gone", have: []route{r1}, wantRemove: []route{r1}},
		{name: "empty", want: nil, have: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replace, remove := diffRoutes(tt.want, tt.have)
			if !slices.Equal(replace, tt.wantReplace) {
				t.Errorf("replace = %v, want %v", replace, tt.wantReplace)
			}
			if !slices.Equal(remove, tt.wantRemove) {
				t.Errorf("remove = %v, want %v", remove, tt.wantRemove)
			}
		})
	}
}

func TestRouteArgs(t *testing.T) {
	r := route{"10.244.1.0/24", "172.18.0.3"}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{
			name: "replace",
			got:  routeReplaceArgs(r),
			want: []string{"route", "replace", "10.244.1.0/24", "via", "172.18.0.3", "proto", "201"},
		},
		{
			name: "delete",
			got:  routeDeleteArgs(r),
			want: []string{"route", "del", "10.244.1.0/24", "via", "172.18.0.3", "proto", "201"},
		},
		{
			name: "delete without gateway",
			got:  routeDeleteArgs(route{Dst: "10.244.1.0/24"}),
			want: []string{"route", "del", "10.244.1.0/24", "proto", "201"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
