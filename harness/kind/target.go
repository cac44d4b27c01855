package kind

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kdrill/kdrill/harness"
)

// The Cluster is a drill target: its nodes are kind's node containers.
var _ harness.EtcdTarget = (*Cluster)(nil)

// Get returns the running cluster of that name as a drill target. A cluster
// that is not up is a UserError.
func Get(ctx context.Context, o Options) (*Cluster, error) {
	o.defaults()
	if err := CheckDocker(ctx); err != nil {
		return nil, err
	}
	exists, err := Exists(o.Name)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, &UserError{Msg: fmt.Sprintf("cluster %q is not up; run 'kdrill cluster up --name %s' first", o.Name, o.Name)}
	}
	dir := clusterDir(o)
	c := &Cluster{Name: o.Name, Kubeconfig: filepath.Join(dir, "kubeconfig"), EtcdDir: filepath.Join(dir, "etcd")}
	ports, err := workerPorts(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	c.WorkloadURLs = urls(ports)
	// etcd's folder is the control plane's mount: a re-provisioned
	// control plane has one of its own.
	if cs, err := inspect(ctx, c.ControlPlane()); err == nil && cs[0].etcdSource() != "" {
		c.EtcdDir = cs[0].etcdSource()
	}
	if err := newProvider(io.Discard).ExportKubeConfig(o.Name, c.Kubeconfig, false); err != nil {
		// kind reads the kubeconfig off the control-plane node, which may
		// be the very thing a drill stopped; the copy from cluster up
		// then serves ('kdrill recover' must work exactly then).
		if _, statErr := os.Stat(c.Kubeconfig); statErr != nil {
			return nil, fmt.Errorf("export kubeconfig of %s: %w", o.Name, err)
		}
	}
	return c, nil
}

// KubeconfigPath implements harness.Target.
func (c *Cluster) KubeconfigPath() string { return c.Kubeconfig }

// ControlPlane is the name of the control-plane node (and its container).
func (c *Cluster) ControlPlane() string { return c.Name + "-control-plane" }

// Nodes lists the node containers with their roles, zones and addresses on
// kind's Docker network. It asks Docker, not the API server, so it works
// while the control plane is down.
func (c *Cluster) Nodes(ctx context.Context) ([]harness.Node, error) {
	nodes, err := newProvider(io.Discard).ListNodes(c.Name)
	if err != nil {
		return nil, fmt.Errorf("list nodes of %s: %w", c.Name, err)
	}
	var out []harness.Node
	var names []string
	for _, n := range nodes {
		role, err := n.Role()
		if err != nil {
			return nil, fmt.Errorf("role of %s: %w", n, err)
		}
		hn := harness.Node{Name: n.String(), Role: harness.RoleWorker, Zone: WorkerZone}
		if role == "control-plane" {
			hn.Role, hn.Zone = harness.RoleControlPlane, ControlPlaneZone
		}
		v4, v6, err := n.IP()
		if err == nil {
			hn.Address, hn.Address6 = v4, v6
		}
		out = append(out, hn)
		names = append(names, hn.Name)
	}
	// A machine re-provisioned into another zone says so on its container.
	if len(names) > 0 {
		cs, err := inspect(ctx, names...)
		if err != nil {
			return nil, err
		}
		for i := range out {
			for _, ct := range cs {
				if ct.Name == out[i].Name && ct.Config.Labels[zoneLabel] != "" {
					out[i].Zone = ct.Config.Labels[zoneLabel]
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b harness.Node) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Exec runs cmd in the node container as root.
func (c *Cluster) Exec(ctx context.Context, node string, cmd ...string) ([]byte, error) {
	args := append([]string{"exec", node}, cmd...)
	var stdout, stderr bytes.Buffer
	ex := exec.CommandContext(ctx, "docker", args...)
	ex.Stdout, ex.Stderr = &stdout, &stderr
	if err := ex.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s on %s: %w: %s", strings.Join(cmd, " "), node, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Etcd returns how to reach the control plane's etcd from the host: its
// address on kind's network and the health-check client certificate kubeadm
// made, read off the node.
func (c *Cluster) Etcd(ctx context.Context) (harness.Etcd, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return harness.Etcd{}, err
	}
	cps := harness.ByRole(nodes, harness.RoleControlPlane)
	if len(cps) == 0 || cps[0].Address == "" {
		return harness.Etcd{}, fmt.Errorf("cluster %s has no reachable control-plane node", c.Name)
	}
	read := func(f string) ([]byte, error) {
		return c.Exec(ctx, cps[0].Name, "cat", "/etc/kubernetes/pki/etcd/"+f)
	}
	cert, err := read("healthcheck-client.crt")
	if err != nil {
		return harness.Etcd{}, err
	}
	key, err := read("healthcheck-client.key")
	if err != nil {
		return harness.Etcd{}, err
	}
	ca, err := read("ca.crt")
	if err != nil {
		return harness.Etcd{}, err
	}
	tlsCfg, err := harness.TLSConfig(cert, key, ca, "")
	if err != nil {
		return harness.Etcd{}, err
	}
	return harness.Etcd{
		Endpoints: []string{"https://" + net.JoinHostPort(cps[0].Address, "2379")},
		TLS:       tlsCfg,
	}, nil
}

// StopNode stops a node container: docker stop (systemd in the node shuts
// down), or with force docker kill, a power cut.
func (c *Cluster) StopNode(ctx context.Context, node string, force bool) error {
	args := []string{"stop", "--time", "10", node}
	if force {
		args = []string{"kill", "--signal", "KILL", node}
	}
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker %s %s: %w: %s", args[0], node, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// StartNode starts a stopped node container; its entrypoint and systemd
// boot it as a machine would.
func (c *Cluster) StartNode(ctx context.Context, node string) error {
	if out, err := exec.CommandContext(ctx, "docker", "start", node).CombinedOutput(); err != nil {
		return fmt.Errorf("docker start %s: %w: %s", node, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// NodeRunning reports whether the node container is running.
func (c *Cluster) NodeRunning(ctx context.Context, node string) (bool, error) {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.State.Running}}", node).Output()
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", node, err)
	}
	return strings.TrimSpace(string(out)) == "true", nil
}

// MachineID implements faults.Machines: the node container's id.
func (c *Cluster) MachineID(ctx context.Context, node string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.Id}}", node).Output()
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", node, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// EtcdDataDir is the host folder holding the control plane's etcd data.
func (c *Cluster) EtcdDataDir() string { return c.EtcdDir }
