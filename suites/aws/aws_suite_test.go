package aws_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/aws"
	"github.com/kdrill/kdrill/harness/aws/awslocal"
	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/suites/internal/testcluster"
)

func TestAWS(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "AWS provider")
}

// The suite's own cluster, apart from the others'.
const (
	testCluster = "kdrill-aws"
	testPort    = 30290
	region      = "us-east-1"
	// timeScale makes the alarm's 60 s period last one second.
	timeScale = 60
	// accountID is the stand-in's account, which the CLI spec allow-lists.
	accountID = "000000000042"
	// backupBucket holds etcd's snapshots in the stand-in's S3.
	backupBucket = "kdrill-etcd-backups"
)

var (
	// calls records the operations the stand-in was asked for.
	calls = &callLog{}
	// endpoint is where the stand-in answers.
	endpoint string
	env      drill.Env
	provider *aws.Provider
	cluster  *kind.Cluster
	// kdrill is the CLI, built once for the specs that run it.
	kdrill string
)

var _ = BeforeSuite(func(ctx SpecContext) {
	cluster = testcluster.Up(ctx, testCluster, testPort)

	// The cluster's node containers become EC2 instances: tagged as an
	// operator would tag them, the control plane in one zone and the
	// workers in another.
	nodes, err := cluster.Nodes(ctx)
	Expect(err).NotTo(HaveOccurred())
	tags := map[string]map[string]string{}
	zones := map[string]string{}
	for _, n := range nodes {
		tags[n.Name] = map[string]string{"kdrill/cluster": testCluster, "kdrill/role": string(n.Role), "kdrill/node": n.Name}
		zones[n.Name] = region + "b"
		if n.Role == harness.RoleControlPlane {
			zones[n.Name] = region + "a"
		}
	}
	// The control plane counts as launched from a launch template that
	// makes a machine like it in the workers' zone, with its hostname (its
	// node name and, on kind's network, the API server's name) and an
	// empty etcd folder of its own: what re-provisioning launches.
	cpName := testCluster + "-control-plane"
	tmpl, err := cluster.MachineTemplate(ctx, cpName, GinkgoT().TempDir(), region+"b")
	Expect(err).NotTo(HaveOccurred())
	backend, err := awslocal.NewDockerBackend(ctx, awslocal.DockerOptions{
		Label: "io.x-k8s.kind.cluster=" + testCluster, Tags: tags, Zones: zones,
		LaunchTemplates: []awslocal.DockerLaunchTemplate{{
			Name: cpName, Image: tmpl.Image, RunArgs: tmpl.Flags, Command: tmpl.Command, Instances: []string{cpName},
		}},
	})
	Expect(err).NotTo(HaveOccurred())
	s3Dir := GinkgoT().TempDir()
	// The etcd backups' bucket; the nodes upload to it and download from
	// it with presigned URLs.
	Expect(os.Mkdir(filepath.Join(s3Dir, backupBucket), 0o755)).To(Succeed())
	srv, err := awslocal.New(awslocal.Options{
		Backend: backend, Region: region, AccountID: accountID, AccessKeyID: "AKIDKDRILLSUITE", SecretAccessKey: "kdrill-suite-secret",
		S3Dir: s3Dir, TimeScale: timeScale,
		Logger: slog.New(slog.NewTextHandler(GinkgoWriter, nil)),
	})
	Expect(err).NotTo(HaveOccurred())
	// The stand-in answers on the kind network's gateway, which both this
	// process and the nodes reach, as instances reach S3's endpoint.
	gw, err := exec.Command("docker", "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{if .Gateway}}{{.Gateway}} {{end}}{{end}}").Output()
	Expect(err).NotTo(HaveOccurred())
	l, err := net.Listen("tcp", net.JoinHostPort(strings.Fields(string(gw))[0], "0"))
	Expect(err).NotTo(HaveOccurred())
	hs := httptest.NewUnstartedServer(calls.record(srv))
	hs.Listener.Close()
	hs.Listener = l
	hs.Start()
	DeferCleanup(func() { hs.Close(); srv.Close() })
	endpoint = hs.URL

	// The provider finds its credentials the standard way.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDKDRILLSUITE", "AWS_SECRET_ACCESS_KEY": "kdrill-suite-secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		GinkgoT().Setenv(k, v)
	}
	provider, err = aws.Open(ctx, aws.Options{
		Region: region, Endpoint: hs.URL, Tags: map[string]string{"kdrill/cluster": testCluster},
		Kubeconfig: cluster.KubeconfigPath(), WorkloadURL: cluster.WorkloadURL(),
		BackupBucket: backupBucket, BackupPrefix: "etcd/",
	})
	Expect(err).NotTo(HaveOccurred())
	j, err := faults.OpenJournal(GinkgoT().TempDir() + "/journal.jsonl")
	Expect(err).NotTo(HaveOccurred())
	env = drill.Env{Target: provider, Ref: faults.Ref{Provider: "aws", Name: testCluster}, Journal: j}

	kdrill, err = gexec.Build("github.com/kdrill/kdrill/cmd/kdrill")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)
}, NodeTimeout(60*time.Minute))

// runDrill drills one scenario through the library and prints its checks.
// Whatever the verdict, the fault must have been reverted and nothing may
// be left in the journal.
func runDrill(ctx context.Context, id string, o drill.Options) results.Scenario {
	GinkgoHelper()
	o.Logger = slog.New(slog.NewTextHandler(GinkgoWriter, nil))
	res, err := drill.Run(ctx, env, id, o)
	Expect(err).NotTo(HaveOccurred(), "the fault could not be reverted")
	for _, c := range res.Checks {
		GinkgoWriter.Printf("  %-36s %-5s %s\n", c.Name, c.Verdict, c.Detail)
	}
	pending, err := env.Journal.Pending()
	Expect(err).NotTo(HaveOccurred())
	Expect(pending).To(BeEmpty())
	return res
}

// The provider is what the vm-shutdown drill needs on a platform with a
// status-check alarm, and what network-partition needs to cut subnets and
// re-provision the control plane.
var (
	_ drill.StatusAlarms               = (*aws.Provider)(nil)
	_ drill.PartitionFaulter           = (*aws.Provider)(nil)
	_ faults.ControlPlaneReprovisioner = (*aws.Provider)(nil)
)

// callLog keeps the name of every operation sent to the stand-in, read off
// each protocol's own mark: SSM's X-Amz-Target, CloudWatch's RPC v2 path,
// the query protocols' Action, and S3's method.
type callLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *callLog) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := "s3:" + r.Method
		switch {
		case r.Header.Get("X-Amz-Target") != "":
			t := r.Header.Get("X-Amz-Target")
			op = "ssm:" + t[strings.LastIndex(t, ".")+1:]
		case strings.Contains(r.URL.Path, "/operation/"):
			op = "cloudwatch:" + r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		case r.Method == http.MethodPost && r.URL.Path == "/":
			body, err := io.ReadAll(r.Body)
			if err == nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
				if form, err := url.ParseQuery(string(body)); err == nil {
					op = "query:" + form.Get("Action")
				}
			}
		}
		l.mu.Lock()
		l.ops = append(l.ops, op)
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// since returns the operations recorded after the first n.
func (l *callLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops[n:]...)
}

func (l *callLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ops)
}

// changes reports whether op is one that changes something: every
// operation but the reads, by the naming AWS keeps across services.
func changes(op string) bool {
	_, name, _ := strings.Cut(op, ":")
	if strings.HasPrefix(op, "s3:") {
		return name != http.MethodGet && name != http.MethodHead
	}
	for _, read := range []string{"Describe", "List", "Get", "Head"} {
		if strings.HasPrefix(name, read) {
			return false
		}
	}
	return true
}
