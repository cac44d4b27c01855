package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/internal/dockernet"
)

// zoneLabel marks a node container launched into a zone other than its
// role's default: a control plane re-provisioned next to the workers.
const zoneLabel = "io.kdrill.zone"

// clusterLabel is kind's label naming a node container's cluster.
const clusterLabel = "io.x-k8s.kind.cluster"

// etcdMount is where the control plane's etcd keeps its data, a host
// folder on kind.
const etcdMount = "/var/lib/etcd"

// container is the part of docker inspect that describes how a node
// container was launched: its launch template.
type container struct {
	Name   string
	Config struct {
		Hostname   string
		Image      string
		Env        []string
		Labels     map[string]string
		Entrypoint []string
		Cmd        []string
		Tty        bool
		StopSignal string
	}
	HostConfig struct {
		Binds         []string
		NetworkMode   string
		PortBindings  map[string][]struct{ HostIp, HostPort string }
		RestartPolicy struct {
			Name              string
			MaximumRetryCount int
		}
		CgroupnsMode string
		Privileged   bool
		SecurityOpt  []string
		Tmpfs        map[string]string
		Runtime      string
	}
	Mounts []struct {
		Type, Source, Destination string
	}
}

func inspect(ctx context.Context, names ...string) ([]container, error) {
	out, err := exec.CommandContext(ctx, "docker", append([]string{"inspect"}, names...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("docker inspect %s: %w", strings.Join(names, " "), exitDetail(err))
	}
	var cs []container
	if err := json.Unmarshal(out, &cs); err != nil {
		return nil, fmt.Errorf("parse docker inspect: %w", err)
	}
	for i := range cs {
		cs[i].Name = strings.TrimPrefix(cs[i].Name, "/")
	}
	return cs, nil
}

func exitDetail(err error) error {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}

// etcdSource is the host folder mounted at etcd's data path, if any.
func (c container) etcdSource() string {
	for _, m := range c.Mounts {
		if m.Destination == etcdMount && m.Type == "bind" {
			return m.Source
		}
	}
	return ""
}

// runArgs are the docker run arguments that launch a fresh machine like c:
// the same image, privileges, mounts and published ports, with a new,
// empty /var and etcd's data in etcdDir.
func (c container) runArgs(etcdDir, zone string) []string {
	t := c.template(etcdDir, zone)
	args := append([]string{"run", "--detach", "--name", c.Name, "--network", c.HostConfig.NetworkMode}, t.Flags...)
	args = append(args, t.Image)
	return append(args, t.Command...)
}

// MachineTemplate is how to launch a fresh machine like a node container:
// docker run [Flags...] Image [Command...], plus a name and a network.
type MachineTemplate struct {
	Flags   []string
	Image   string
	Command []string
}

// MachineTemplate returns how to launch a fresh machine like node, in zone,
// with etcd's data (for a control plane) in etcdDir: what a launch
// template is on a cloud. The machine keeps node's hostname, which is also
// its alias on kind's network, and its published ports.
func (c *Cluster) MachineTemplate(ctx context.Context, node, etcdDir, zone string) (MachineTemplate, error) {
	cs, err := inspect(ctx, node)
	if err != nil {
		return MachineTemplate{}, err
	}
	if cs[0].Config.Labels[clusterLabel] != c.Name {
		return MachineTemplate{}, fmt.Errorf("%s is not a node of cluster %s", node, c.Name)
	}
	return cs[0].template(etcdDir, zone), nil
}

func (c container) template(etcdDir, zone string) MachineTemplate {
	args := []string{"--hostname", c.Config.Hostname, "--network-alias", c.Config.Hostname}
	if c.Config.Tty {
		args = append(args, "--tty")
	}
	if c.HostConfig.Privileged {
		args = append(args, "--privileged")
	}
	for _, o := range c.HostConfig.SecurityOpt {
		args = append(args, "--security-opt", o)
	}
	if c.HostConfig.CgroupnsMode != "" {
		args = append(args, "--cgroupns", c.HostConfig.CgroupnsMode)
	}
	if rp := c.HostConfig.RestartPolicy; rp.Name != "" && rp.Name != "no" {
		p := rp.Name
		if rp.MaximumRetryCount > 0 {
			p += fmt.Sprintf(":%d", rp.MaximumRetryCount)
		}
		args = append(args, "--restart", p)
	}
	if c.HostConfig.Runtime != "" {
		args = append(args, "--runtime", c.HostConfig.Runtime)
	}
	if c.Config.StopSignal != "" {
		args = append(args, "--stop-signal", c.Config.StopSignal)
	}
	for _, dir := range sortedKeys(c.HostConfig.Tmpfs) {
		args = append(args, "--tmpfs", dir)
	}
	for _, b := range c.HostConfig.Binds {
		if strings.Contains(b, ":"+etcdMount) {
			b = etcdDir + ":" + etcdMount
		}
		args = append(args, "--volume", b)
	}
	// Anonymous volumes (kind's /var) start empty, filled from the image.
	for _, m := range c.Mounts {
		if m.Type == "volume" {
			args = append(args, "--volume", m.Destination)
		}
	}
	for _, port := range sortedKeys(c.HostConfig.PortBindings) {
		for _, b := range c.HostConfig.PortBindings[port] {
			args = append(args, "--publish", fmt.Sprintf("%s:%s:%s", b.HostIp, b.HostPort, port))
		}
	}
	for _, e := range c.Config.Env {
		args = append(args, "--env", e)
	}
	labels := map[string]string{}
	for k, v := range c.Config.Labels {
		labels[k] = v
	}
	labels[zoneLabel] = zone
	for _, k := range sortedKeys(labels) {
		args = append(args, "--label", k+"="+labels[k])
	}
	if len(c.Config.Entrypoint) > 0 {
		args = append(args, "--entrypoint", c.Config.Entrypoint[0])
	}
	cmd := append([]string(nil), c.Config.Entrypoint[min(1, len(c.Config.Entrypoint)):]...)
	return MachineTemplate{Flags: args, Image: c.Config.Image, Command: append(cmd, c.Config.Cmd...)}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ReplaceNode terminates a node container and launches a fresh machine in
// its place, in zone: what re-provisioning from the old instance's launch
// template is on a cloud. The new machine has the old one's name, hostname
// (also its name on kind's network, which is how the other nodes reach the
// control plane) and published ports, but nothing of its state: an empty
// /var and, for the control plane, an empty etcd data folder of its own
// under the cluster's state folder. Whatever the node needs (certificates,
// configuration, etcd's data) must be restored onto it afterwards.
//
// The old container is removed with its volumes, as a terminated instance
// is gone; call it only on a node that is fenced off already.
//
// old is the node as it was before it was cut off: its addresses are never
// given to the new machine, since whatever cut the old one off (a
// partition's rules) still names them, and a stopped container no longer
// shows them.
func (c *Cluster) ReplaceNode(ctx context.Context, old harness.Node, zone string) (harness.Node, error) {
	node := old.Name
	cs, err := inspect(ctx, node)
	if err != nil {
		return harness.Node{}, err
	}
	launch := cs[0]
	if launch.Config.Labels[clusterLabel] != c.Name {
		return harness.Node{}, fmt.Errorf("%s is not a node of cluster %s", node, c.Name)
	}
	etcdDir := ""
	if launch.etcdSource() != "" {
		etcdDir = filepath.Join(filepath.Dir(c.Kubeconfig), "etcd-"+zone)
		if err := os.RemoveAll(etcdDir); err != nil {
			return harness.Node{}, err
		}
		if err := os.MkdirAll(etcdDir, 0o700); err != nil {
			return harness.Node{}, err
		}
	}
	// A machine in another zone has another address: never the old one,
	// which the partition (and anything else that cut the old machine
	// off) still names.
	avoid := []string{old.Address, old.Address6}
	if nodes, err := c.Nodes(ctx); err == nil {
		for _, n := range nodes {
			if n.Name == node {
				avoid = append(avoid, n.Address, n.Address6)
			}
		}
	}
	addrs, err := freeAddresses(ctx, launch.HostConfig.NetworkMode, avoid)
	if err != nil {
		return harness.Node{}, err
	}
	if out, err := exec.CommandContext(ctx, "docker", "rm", "--force", "--volumes", node).CombinedOutput(); err != nil {
		return harness.Node{}, fmt.Errorf("terminate %s: %w: %s", node, err, strings.TrimSpace(string(out)))
	}
	args := launch.runArgs(etcdDir, zone)
	args = append(args[:2], append(addrs, args[2:]...)...)
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		return harness.Node{}, fmt.Errorf("launch a new %s in %s: %w: %s", node, zone, err, strings.TrimSpace(string(out)))
	}
	if etcdDir != "" {
		c.EtcdDir = etcdDir
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return harness.Node{}, err
	}
	for _, n := range nodes {
		if n.Name == node {
			return n, nil
		}
	}
	return harness.Node{}, fmt.Errorf("the new %s is not among the cluster's nodes", node)
}

// freeAddresses picks, in each subnet of the Docker network, the highest
// address no running container holds and not in avoid, and returns them as
// docker run flags (--ip, --ip6).
func freeAddresses(ctx context.Context, network string, avoid []string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "network", "inspect", network).Output()
	if err != nil {
		return nil, fmt.Errorf("docker network inspect %s: %w", network, exitDetail(err))
	}
	used := map[netip.Addr]bool{}
	for _, a := range avoid {
		if ip, err := netip.ParseAddr(a); err == nil {
			used[ip] = true
		}
	}
	return dockernet.FreeAddressFlags(out, used)
}
