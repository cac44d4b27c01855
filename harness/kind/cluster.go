package kind

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
)

// Topology labels the drills rely on: the control plane alone in one zone,
// the workers in another, as in the seed's network-partition story.
const (
	ZoneLabel        = "topology.kubernetes.io/zone"
	ControlPlaneZone = "zone-a"
	WorkerZone       = "zone-b"
	// WorkloadNodePort is the echo Service's NodePort inside the cluster.
	WorkloadNodePort = 30080
	// DefaultName is the cluster name when none is given.
	DefaultName = "kdrill"
	// DefaultHostPort is the first loopback port the workers publish the
	// workload on; the second worker uses the next one.
	DefaultHostPort = 30080
	// EtcdDataDir is where kubeadm's etcd keeps its data inside the node.
	EtcdDataDir = "/var/lib/etcd"
)

// UserError is a problem the user can fix: a taken port, a missing engine,
// a cluster that does not exist. Its message says how.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// Options configure Up and Down.
type Options struct {
	Name     string
	Image    string // node image; required for Up
	HostPort int    // first loopback port for the workload
	// StateDir holds per-cluster state: kubeconfig and etcd's data folder.
	StateDir string
	// Retain keeps the nodes of a failed Up for debugging.
	Retain   bool
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.HostPort == 0 {
		o.HostPort = DefaultHostPort
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// DefaultStateDir is $KDRILL_STATE_DIR, or kdrill under XDG_STATE_HOME
// (~/.local/state by default).
func DefaultStateDir() string {
	if d := os.Getenv("KDRILL_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "kdrill")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "kdrill-state")
	}
	return filepath.Join(home, ".local", "state", "kdrill")
}

// Cluster is a running drill cluster.
type Cluster struct {
	Name       string
	Kubeconfig string
	// EtcdDir is the host folder holding the control plane's etcd data.
	EtcdDir string
	// WorkloadURLs are the loopback URLs of the echo workload, one per worker.
	WorkloadURLs []string
	// Reused is true when Up found the cluster already running.
	Reused bool
}

// WorkloadURL is the URL drills probe by default.
func (c *Cluster) WorkloadURL() string { return c.WorkloadURLs[0] }

func clusterDir(o Options) string { return filepath.Join(o.StateDir, "clusters", o.Name) }

func newProvider(w io.Writer) *cluster.Provider {
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(&progressLogger{w: w}))
}

// CheckDocker returns a UserError unless a Docker engine answers.
func CheckDocker(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return &UserError{Msg: "docker is not installed; run 'make docker' (as root) or install Docker"}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return &UserError{Msg: "no Docker engine answers (" + lastLine(string(out)) + "); run 'make docker' (as root) or start Docker"}
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Exists reports whether a kind cluster of that name is running.
func Exists(name string) (bool, error) {
	names, err := newProvider(io.Discard).List()
	if err != nil {
		return false, fmt.Errorf("list kind clusters: %w", err)
	}
	return slices.Contains(names, name), nil
}

// Up creates the cluster, or reuses a running one of that name, deploys the
// workload and waits until every node is Ready and the workload answers on
// the loopback ports.
func Up(ctx context.Context, o Options) (*Cluster, error) {
	o.defaults()
	if err := CheckDocker(ctx); err != nil {
		return nil, err
	}
	dir := clusterDir(o)
	c := &Cluster{
		Name:       o.Name,
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		EtcdDir:    filepath.Join(dir, "etcd"),
	}
	p := newProvider(o.Progress)
	exists, err := Exists(o.Name)
	if err != nil {
		return nil, err
	}
	if exists {
		c.Reused = true
		ports, err := workerPorts(ctx, o.Name)
		if err != nil {
			return nil, err
		}
		c.WorkloadURLs = urls(ports)
		fmt.Fprintf(o.Progress, "cluster %q is already running: reusing it\n", o.Name)
		if err := p.ExportKubeConfig(o.Name, c.Kubeconfig, false); err != nil {
			return nil, fmt.Errorf("export kubeconfig of %s: %w", o.Name, err)
		}
	} else {
		if o.Image == "" {
			return nil, &UserError{Msg: "no node image given: run 'kdrill image build' and pass its tag with --image"}
		}
		ports := []int{o.HostPort, o.HostPort + 1}
		for _, port := range ports {
			if err := portFree(port); err != nil {
				return nil, &UserError{Msg: fmt.Sprintf("loopback port %d is already in use (%v); free it or pass --port with another first port", port, err)}
			}
		}
		c.WorkloadURLs = urls(ports)
		if err := create(ctx, p, o, c, ports); err != nil {
			return nil, err
		}
		if err := writeMarker(o); err != nil { // kdrill drills only what it made (guard.go)
			return nil, err
		}
	}
	if err := ready(ctx, o, c); err != nil {
		if !c.Reused && !o.Retain {
			fmt.Fprintf(o.Progress, "cluster %q did not become ready: deleting it (pass --retain to keep it)\n", o.Name)
			_ = Down(context.Background(), Options{Name: o.Name, StateDir: o.StateDir, Progress: o.Progress})
		}
		return nil, err
	}
	return c, nil
}

func urls(ports []int) []string {
	var out []string
	for _, p := range ports {
		out = append(out, fmt.Sprintf("http://127.0.0.1:%d/", p))
	}
	return out
}

// create runs kind's create with the drill topology. A fresh cluster starts
// from an empty etcd folder: a leftover one belongs to a deleted cluster.
func create(ctx context.Context, p *cluster.Provider, o Options, c *Cluster, ports []int) error {
	if err := os.RemoveAll(c.EtcdDir); err != nil {
		return fmt.Errorf("clear old etcd data %s: %w", c.EtcdDir, err)
	}
	if err := os.MkdirAll(c.EtcdDir, 0o700); err != nil {
		return fmt.Errorf("create etcd data folder: %w", err)
	}
	cfg := Config(c.EtcdDir, ports)
	fmt.Fprintf(o.Progress, "creating cluster %q from %s\n", o.Name, o.Image)
	done := make(chan error, 1)
	go func() {
		done <- p.Create(o.Name,
			cluster.CreateWithV1Alpha4Config(cfg),
			cluster.CreateWithNodeImage(o.Image),
			cluster.CreateWithKubeconfigPath(c.Kubeconfig),
			cluster.CreateWithRetain(o.Retain),
			cluster.CreateWithWaitForReady(0),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false))
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// kind's create cannot be cancelled: let it finish, then undo it.
		fmt.Fprintf(o.Progress, "interrupted: waiting for kind to stop, then deleting %q\n", o.Name)
		<-done
		_ = Down(context.Background(), Options{Name: o.Name, StateDir: o.StateDir, Progress: o.Progress})
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("create kind cluster %s: %w", o.Name, err)
	}
	return nil
}

// Config is the kind configuration of a drill cluster: one control plane in
// zone-a with etcd's data on etcdDir, two workers in zone-b publishing the
// workload's NodePort on the given loopback ports.
func Config(etcdDir string, ports []int) *v1alpha4.Cluster {
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Nodes: []v1alpha4.Node{{
			Role:   v1alpha4.ControlPlaneRole,
			Labels: map[string]string{ZoneLabel: ControlPlaneZone},
			// The local counterpart of an EBS volume: etcd's data outlives
			// the node container.
			ExtraMounts: []v1alpha4.Mount{{HostPath: etcdDir, ContainerPath: EtcdDataDir}},
		}},
		KubeadmConfigPatches: []string{
			// kubelet 1.35+ refuses cgroup v1 hosts unless told otherwise;
			// kind only warns. Harmless on cgroup v2.
			"kind: KubeletConfiguration\nfailCgroupV1: false\n",
		},
	}
	for _, port := range ports {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{
			Role:   v1alpha4.WorkerRole,
			Labels: map[string]string{ZoneLabel: WorkerZone},
			ExtraPortMappings: []v1alpha4.PortMapping{{
				ContainerPort: WorkloadNodePort,
				HostPort:      int32(port),
				ListenAddress: "127.0.0.1",
				Protocol:      v1alpha4.PortMappingProtocolTCP,
			}},
		})
	}
	v1alpha4.SetDefaultsCluster(cfg)
	return cfg
}

func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// workerPorts reads the loopback ports a running cluster's workers publish
// the workload on, in worker order.
func workerPorts(ctx context.Context, name string) ([]int, error) {
	nodes, err := newProvider(io.Discard).ListNodes(name)
	if err != nil {
		return nil, fmt.Errorf("list nodes of %s: %w", name, err)
	}
	var workers []string
	for _, n := range nodes {
		if role, _ := n.Role(); role == "worker" {
			workers = append(workers, n.String())
		}
	}
	slices.Sort(workers)
	var ports []int
	for _, w := range workers {
		out, err := exec.CommandContext(ctx, "docker", "port", w, fmt.Sprintf("%d/tcp", WorkloadNodePort)).Output()
		if err != nil {
			return nil, fmt.Errorf("read published port of %s: %w", w, err)
		}
		_, portStr, err := net.SplitHostPort(strings.TrimSpace(strings.Split(string(out), "\n")[0]))
		if err != nil {
			return nil, fmt.Errorf("parse published port of %s (%q): %w", w, out, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			return nil, err
		}
		ports = append(ports, port)
	}
	if len(ports) == 0 {
		return nil, &UserError{Msg: fmt.Sprintf("cluster %q has no worker publishing port %d: it was not made by kdrill; delete it with 'kdrill cluster down --name %s'", name, WorkloadNodePort, name)}
	}
	return ports, nil
}

// Down deletes the cluster's nodes and its state folder (kubeconfig, etcd
// data). A cluster that does not exist is a UserError.
func Down(ctx context.Context, o Options) error {
	o.defaults()
	if err := CheckDocker(ctx); err != nil {
		return err
	}
	exists, err := Exists(o.Name)
	if err != nil {
		return err
	}
	dir := clusterDir(o)
	if !exists {
		_, statErr := os.Stat(dir)
		os.RemoveAll(dir)
		if statErr == nil {
			return nil // only leftover state, now gone
		}
		return &UserError{Msg: fmt.Sprintf("no kind cluster named %q exists (see 'docker ps'); nothing to delete", o.Name)}
	}
	if err := newProvider(o.Progress).Delete(o.Name, filepath.Join(dir, "kubeconfig")); err != nil {
		return fmt.Errorf("delete kind cluster %s: %w", o.Name, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove state of %s: %w", o.Name, err)
	}
	return nil
}
