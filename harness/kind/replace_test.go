package kind

import (
	"net/netip"
	"slices"
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
		got, ok := highestFree(netip.MustParsePrefix(tt.subnet), used)
		if !ok || got.String() != tt.want {
			t.Errorf("highestFree(%s, %v) = %v, %v; want %s", tt.subnet, tt.used, got, ok, tt.want)
		}
	}
	if _, ok := highestFree(netip.MustParsePrefix("10.0.0.0/30"), map[netip.Addr]bool{netip.MustParseAddr("10.0.0.2"): true, netip.MustParseAddr("10.0.0.1"): true, netip.MustParseAddr("10.0.0.0"): true}); ok {
		t.Error("a full subnet must have no free address")
	}
}

func TestRunArgs(t *testing.T) {
	var c container
	c.Name = "kdrill-control-plane"
	c.Config.Hostname = c.Name
	c.Config.Image = "kdrill/node:x"
	c.Config.Entrypoint = []string{"/usr/local/bin/entrypoint", "/sbin/init"}
	c.Config.Labels = map[string]string{clusterLabel: "kdrill"}
	c.HostConfig.NetworkMode = "kind"
	c.HostConfig.Privileged = true
	c.HostConfig.Binds = []string{"/lib/modules:/lib/modules:ro", "/state/etcd:/var/lib/etcd"}
	c.HostConfig.PortBindings = map[string][]struct{ HostIp, HostPort string }{"6443/tcp": {{"127.0.0.1", "35581"}}}
	c.Mounts = append(c.Mounts, struct{ Type, Source, Destination string }{"volume", "/var/lib/docker/volumes/x/_data", "/var"})
	args := strings.Join(c.runArgs("/state/etcd-zone-b", "zone-b"), " ")
	for _, want := range []string{
		"--name kdrill-control-plane", "--network-alias kdrill-control-plane", "--privileged",
		"--volume /state/etcd-zone-b:/var/lib/etcd", "--volume /var", "--publish 127.0.0.1:35581:6443/tcp",
		"--label " + zoneLabel + "=zone-b", "--entrypoint /usr/local/bin/entrypoint kdrill/node:x /sbin/init",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("run args lack %q:\n%s", want, args)
		}
	}
	if slices.Contains(strings.Fields(args), "/state/etcd:/var/lib/etcd") {
		t.Error("the new machine must not mount the old machine's etcd data")
	}
}
