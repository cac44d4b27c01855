package etcd_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

func TestEtcd(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "etcd")
}

// etcdImage is the locally built etcd image every member runs.
var etcdImage string

var _ = BeforeSuite(func(ctx SpecContext) {
	// The reaper (ryuk) is an image testcontainers pulls, and nothing can be
	// pulled here; every container is terminated by DeferCleanup instead.
	// testcontainers reads its configuration once, on first use, so this
	// must come before any other call into it.
	Expect(os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")).To(Succeed())
	// Inside a container (as CI and the sandboxes are) testcontainers would
	// reach published ports through the bridge's gateway address; members
	// publish on loopback only, so that is where the test talks to them.
	Expect(os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")).To(Succeed())
	tclog.SetDefault(ginkgoLogger{})

	By("building the etcd image (cached)")
	var err error
	etcdImage, err = nodeimage.EtcdImage(ctx, nodeimage.Options{Progress: GinkgoWriter}, nodeimage.DefaultEtcdVersion)
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(30*time.Minute))

// ginkgoLogger sends testcontainers' chatter to the spec's output, shown
// when a spec fails or with -ginkgo.v.
type ginkgoLogger struct{}

func (ginkgoLogger) Printf(format string, args ...any) {
	fmt.Fprintf(GinkgoWriter, format+"\n", args...)
}

// member is one etcd server in a container, with a client for it.
type member struct {
	Endpoint string // 127.0.0.1:<mapped client port>
	Client   *clientv3.Client
	// Container runs the member; specs that take the member down stop it.
	Container *testcontainers.DockerContainer
}

// peerURL is where a member's single-node cluster says its peer is; nothing
// dials it, but a restore must name the same member the server starts as.
const peerURL = "http://127.0.0.1:2380"

// clientPort is etcd's client port inside the container; it is published
// on an ephemeral loopback port of the host.
var clientPort = network.MustParsePort("2379/tcp")

// startMember runs etcd named name on dataDir, bind-mounted from the host:
// empty for a new member, or a directory Restore made. The container runs
// as this process's user so the files on either side of the mount stay
// readable and removable by the test. The container and client are
// released by DeferCleanup.
func startMember(ctx context.Context, name, dataDir string) member {
	GinkgoHelper()
	log := &memberLog{}
	c, err := testcontainers.Run(ctx, etcdImage,
		testcontainers.WithLogConsumers(log),
		testcontainers.WithCmd(
			"--name", name,
			"--data-dir", "/var/lib/etcd",
			"--listen-client-urls", "http://0.0.0.0:2379",
			"--advertise-client-urls", "http://127.0.0.1:2379",
			"--listen-peer-urls", peerURL,
			"--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", name+"="+peerURL,
		),
		testcontainers.WithExposedPorts(clientPort.String()),
		testcontainers.WithConfigModifier(func(c *container.Config) {
			c.User = strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{clientPort: {{HostIP: netip.MustParseAddr("127.0.0.1")}}}
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: dataDir, Target: "/var/lib/etcd"})
		}),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/health").WithPort(clientPort.String()).WithStartupTimeout(time.Minute)),
	)
	// Run can return a container together with an error (it started but
	// never became healthy); it still has to go.
	if c != nil {
		DeferCleanup(func(ctx SpecContext) {
			if CurrentSpecReport().Failed() {
				log.dump(name)
			}
			Expect(testcontainers.TerminateContainer(c, testcontainers.StopContext(ctx))).To(Succeed())
		})
	}
	Expect(err).NotTo(HaveOccurred(), "start etcd member %s", name)

	port, err := c.MappedPort(ctx, clientPort.String())
	Expect(err).NotTo(HaveOccurred())
	ep := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port.Num())))
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cli.Close)
	return member{Endpoint: ep, Client: cli, Container: c}
}

// memberLog keeps a member's output so a failing spec can show it; passing
// specs stay quiet.
type memberLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *memberLog) Accept(e testcontainers.Log) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(e.Content)
}

func (l *memberLog) dump(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(GinkgoWriter, "--- log of etcd %s ---\n%s--- end of log of etcd %s ---\n", name, l.buf.String(), name)
}
