package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

const (
	saTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	saCAFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
	// apiTimeout bounds every API call, so that a hung API server (the
	// drills freeze it as well as kill it) only delays the route sync.
	apiTimeout = 10 * time.Second
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("kdrill-cni failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	resync := flag.Duration("resync", 10*time.Second, "how often to reconcile the node's network")
	confDir := flag.String("cni-conf-dir", "/etc/cni/net.d", "directory the container runtime reads CNI configs from")
	flag.Parse()

	nodeName := os.Getenv("NODE_NAME")
	if nodeName == "" {
		return fmt.Errorf("NODE_NAME is not set; the manifest passes it from spec.nodeName")
	}
	subnets, err := parsePodSubnets(os.Getenv("POD_SUBNET"))
	if err != nil {
		return fmt.Errorf("read POD_SUBNET: %w", err)
	}
	cfg, err := restConfig(os.Getenv("CONTROL_PLANE_ENDPOINT"), rest.InClusterConfig)
	if err != nil {
		return fmt.Errorf("build API client config: %w", err)
	}
	client, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create API client: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	r := execRunner{log: log}
	mode := detectIPTablesMode(ctx, r)
	a := &agent{
		nodeName:      nodeName,
		podSubnets:    subnets,
		confDir:       *confDir,
		ipForwardPath: "/proc/sys/net/ipv4/ip_forward",
		ipt:           toolsFor(mode, exec.LookPath),
		run:           r,
		nodes:         apiNodes{client.Nodes()},
		mtuOf:         interfaceMTU,
		log:           log,
	}
	log.Info("starting", "node", nodeName, "podSubnets", subnets, "api", cfg.Host,
		"iptables", a.ipt.IPTables, "resync", *resync)
	a.loop(ctx, *resync)
	// Routes, rules and config stay in place on purpose: the pods on this
	// node keep working while the agent is restarted or upgraded.
	log.Info("stopping")
	return nil
}

// restConfig returns the API client config. When kind has patched in
// CONTROL_PLANE_ENDPOINT (host:port of the API server or its load
// balancer), that is used directly with the pod's service-account
// credentials, so the agent does not depend on kube-proxy's Service rules;
// otherwise the in-cluster config (the kubernetes Service) is.
func restConfig(endpoint string, inCluster func() (*rest.Config, error)) (*rest.Config, error) {
	var cfg *rest.Config
	if endpoint = strings.TrimSpace(endpoint); endpoint != "" {
		cfg = &rest.Config{
			Host:            apiHost(endpoint),
			BearerTokenFile: saTokenFile, // re-read as the kubelet rotates it
			TLSClientConfig: rest.TLSClientConfig{CAFile: saCAFile},
		}
	} else {
		c, err := inCluster()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
		cfg = c
	}
	cfg.Timeout = apiTimeout
	cfg.UserAgent = "kdrill-cni"
	return cfg, nil
}

// apiHost turns CONTROL_PLANE_ENDPOINT into a URL; kind passes host:port.
func apiHost(endpoint string) string {
	if strings.Contains(endpoint, "://") {
		return endpoint
	}
	return "https://" + endpoint
}

// apiNodes lists nodes through the API server.
type apiNodes struct {
	c corev1client.NodeInterface
}

// ListNodes returns all nodes.
func (n apiNodes) ListNodes(ctx context.Context) ([]corev1.Node, error) {
	l, err := n.c.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// detectIPTablesMode asks both backends how many rules they hold; see
// chooseIPTablesMode. A missing binary or a failing save counts as zero.
func detectIPTablesMode(ctx context.Context, r runner) iptablesMode {
	count := func(bin string) int {
		out, err := r.Run(ctx, nil, bin)
		if err != nil {
			return 0
		}
		return countRules(out)
	}
	return chooseIPTablesMode(count("iptables-legacy-save"), count("iptables-nft-save"))
}

// interfaceMTU returns the MTU of the named interface.
func interfaceMTU(dev string) (int, error) {
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return 0, fmt.Errorf("look up interface %s: %w", dev, err)
	}
	return ifc.MTU, nil
}
