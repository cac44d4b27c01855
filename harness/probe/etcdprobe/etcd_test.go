package etcdprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/kdrill/kdrill/harness/internal/leaktest"
	"github.com/kdrill/kdrill/harness/internal/testcerts"
	"github.com/kdrill/kdrill/harness/probe"
)

// fakeEtcd answers the two RPCs the prober makes, Status and Range, from
// fields a test sets. A real etcd needs Docker or the etcd server module;
// the integration tests run one.
type fakeEtcd struct {
	pb.UnimplementedKVServer
	pb.UnimplementedMaintenanceServer
	mu       sync.Mutex
	status   pb.StatusResponse
	rangeErr error
}

func (f *fakeEtcd) Status(context.Context, *pb.StatusRequest) (*pb.StatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.status
	return &s, nil
}

func (f *fakeEtcd) Range(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rangeErr != nil {
		return nil, f.rangeErr
	}
	return &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: f.status.Header.GetRevision()}}, nil
}

// serve runs f on a loopback port until the test ends and returns its
// address.
func serve(t *testing.T, f *fakeEtcd, opts ...grpc.ServerOption) (string, *grpc.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	pb.RegisterKVServer(s, f)
	pb.RegisterMaintenanceServer(s, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return ln.Addr().String(), s
}

func healthy() pb.StatusResponse {
	return pb.StatusResponse{
		Header: &pb.ResponseHeader{Revision: 42, MemberId: 0xabc},
		Leader: 0xabc, DbSize: 1 << 20, RaftTerm: 3, Version: "3.6.6",
	}
}

func TestProbe(t *testing.T) {
	leaktest.Check(t)
	noLeader := healthy()
	noLeader.Leader = 0
	alarm := healthy()
	alarm.Errors = []string{"etcdserver: mvcc: database space exceeded"}
	tests := []struct {
		name     string
		status   pb.StatusResponse
		rangeErr error
		stopped  bool
		wantOK   bool
		wantErr  string
	}{
		{name: "healthy", status: healthy(), wantOK: true},
		{name: "no leader", status: noLeader, wantErr: "no leader"},
		{name: "alarm", status: alarm, wantErr: "database space exceeded"},
		{name: "read fails", status: healthy(), rangeErr: status.Error(codes.Unavailable, "etcdserver: request timed out"), wantErr: "health read"},
		{name: "permission denied still proves a quorum", status: healthy(), rangeErr: rpctypes.ErrGRPCPermissionDenied, wantOK: true},
		{name: "etcd down", status: healthy(), stopped: true, wantErr: "status of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEtcd{status: tt.status, rangeErr: tt.rangeErr}
			addr, srv := serve(t, f)
			if tt.stopped {
				srv.Stop()
			}
			p, err := New(Options{Endpoints: []string{addr}, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := context.WithTimeout(context.Background(), p.Schedule().Timeout)
			defer cancel()
			res := p.Probe(ctx)
			if res.OK != tt.wantOK || !strings.Contains(res.Detail, tt.wantErr) {
				t.Fatalf("Probe() = %+v, want ok=%v and detail containing %q", res, tt.wantOK, tt.wantErr)
			}
			if tt.wantOK {
				want := map[string]string{"revision": "42", "leader": "abc", "member": "abc", "db_size": "1048576", "raft_term": "3"}
				for k, v := range want {
					if res.Attrs[k] != v {
						t.Errorf("attr %s = %q, want %q", k, res.Attrs[k], v)
					}
				}
			}
		})
	}
}

func TestProbeTLS(t *testing.T) {
	leaktest.Check(t)
	c := testcerts.New(t)
	serverCert, err := tls.X509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CA)
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	addr, _ := serve(t, &fakeEtcd{status: healthy()}, grpc.Creds(creds))

	clientCert, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{
		Endpoints: []string{"https://" + addr},
		TLS:       &tls.Config{Certificates: []tls.Certificate{clientCert}, RootCAs: pool},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if res := p.Probe(ctx); !res.OK {
		t.Fatalf("Probe() over TLS = %+v", res)
	}
}

func TestProbeTwoEndpoints(t *testing.T) {
	leaktest.Check(t)
	a, _ := serve(t, &fakeEtcd{status: healthy()})
	second := healthy()
	second.Header.MemberId = 0xdef
	b, _ := serve(t, &fakeEtcd{status: second})
	p, err := New(Options{Endpoints: []string{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := p.Probe(ctx)
	if !res.OK || res.Attrs["member"] != "abc" || res.Attrs["member.1"] != "def" {
		t.Errorf("Probe() = %+v", res)
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "no endpoints") {
		t.Errorf("New without endpoints: %v", err)
	}
	if _, err := New(Options{Endpoints: []string{"127.0.0.1:1"}, Interval: -1}); err == nil {
		t.Error("negative interval accepted")
	}
	p, err := New(Options{Endpoints: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != probe.Etcd || p.Schedule() != (probe.Schedule{Interval: DefaultInterval, Timeout: DefaultTimeout}) {
		t.Errorf("%s %+v", p.Name(), p.Schedule())
	}
}
