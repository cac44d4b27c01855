package kind

import (
	"slices"
	"strings"
	"testing"
)

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
