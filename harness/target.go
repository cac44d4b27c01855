package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"k8s.io/client-go/rest"
)

// ErrDryRun is wrapped by the error of every call a target in a dry run
// held back: it wrote what it would have done and did not do it.
var ErrDryRun = errors.New("dry run: not sent")

// Role is what a node does in the cluster.
type Role string

// The roles a node can have.
const (
	RoleControlPlane Role = "control-plane"
	RoleWorker       Role = "worker"
)

// Node is one machine of a target cluster.
type Node struct {
	Name string // the Kubernetes node name, also what Exec takes
	Role Role
	Zone string // failure zone (topology.kubernetes.io/zone)
	// Address is where the node answers from the machine running kdrill, if
	// reachable at all (for example a container's IP on a Docker network).
	Address string
	// Address6 is the node's IPv6 address on the same network, if it has
	// one (kind's Docker network is dual-stack where the host allows).
	Address6 string
}

// Target is what a drill needs from a cluster, whichever provider made it.
// Providers return their own concrete types; drills, probers and faults hold
// a Target.
type Target interface {
	// RESTConfig returns a config for talking to the cluster's API server as
	// an administrator.
	RESTConfig() (*rest.Config, error)
	// KubeconfigPath is a kubeconfig file with the same credentials, for
	// tools that want a file.
	KubeconfigPath() string
	// Nodes lists the cluster's machines with their roles and zones. It may
	// ask the provider, so it takes a context; the API server may be down.
	Nodes(ctx context.Context) ([]Node, error)
	// Exec runs cmd on the named node as root and returns its standard
	// output. A non-zero exit is an error that carries the standard error.
	Exec(ctx context.Context, node string, cmd ...string) ([]byte, error)
	// WorkloadURL is where the probed workload answers HTTP GETs from the
	// machine running kdrill.
	WorkloadURL() string
}

// EtcdTarget is a Target whose etcd kdrill can reach as a client, as the etcd
// prober and the etcd scenarios need. It is separate so providers can add it
// when they can.
type EtcdTarget interface {
	Target
	// Etcd returns the client endpoints and credentials of the cluster's etcd.
	Etcd(ctx context.Context) (Etcd, error)
}

// Etcd is how to reach a cluster's etcd as a client.
type Etcd struct {
	Endpoints []string    // host:port or https://host:port
	TLS       *tls.Config // client certificate and CA; nil for plain text
}

// ByRole returns the nodes that have role r, in the order given.
func ByRole(nodes []Node, r Role) []Node {
	var out []Node
	for _, n := range nodes {
		if n.Role == r {
			out = append(out, n)
		}
	}
	return out
}

// ByZone returns the nodes in zone z, in the order given.
func ByZone(nodes []Node, z string) []Node {
	var out []Node
	for _, n := range nodes {
		if n.Zone == z {
			out = append(out, n)
		}
	}
	return out
}

// TLSConfig builds a client TLS config from PEM data, such as the etcd
// client certificate, key and CA a provider reads off a control-plane node
// (/etc/kubernetes/pki/etcd on kubeadm clusters). serverName may be empty.
func TLSConfig(certPEM, keyPEM, caPEM []byte, serverName string) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load client certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("load CA: no certificate found in PEM data")
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
