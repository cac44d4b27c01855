package awslocal

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

const (
	testKey    = "AKIAAWSLOCALTEST0001"
	testSecret = "awslocal-test-secret-not-a-real-one"
	testRegion = "us-east-1"
)

// clients are real SDK clients pointed at a test server.
type clients struct {
	ec2 *ec2.Client
	cw  *cloudwatch.Client
	ssm *ssm.Client
	s3  *s3.Client
}

// sdkConfig is an SDK configuration with static credentials and no
// retries, so a refused request fails at once.
func sdkConfig(key, secret, region string) aws.Config {
	return aws.Config{
		Region: region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
		// What config.LoadDefaultConfig sets: checksums on every upload
		// and download that supports them.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
}

func newClients(cfg aws.Config, url string) clients {
	base := aws.String(url)
	return clients{
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = base }),
		cw:  cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = base }),
		ssm: ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = base }),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = base
			o.UsePathStyle = true
		}),
	}
}

// fixture is a server over a LocalBackend with three machines: a control
// plane in us-east-1a and two workers in us-east-1b.
type fixture struct {
	srv     *Server
	backend *LocalBackend
	http    *httptest.Server
	c       clients
	cp      string // instance ids
	workers []string
}

var testNetwork = Network{CIDR: "10.0.0.0/16", Zones: []string{"us-east-1a", "us-east-1b"}}

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	b := NewLocalBackend(t.TempDir(), testNetwork)
	f := &fixture{backend: b}
	cluster := map[string]string{"kdrill/cluster": "test"}
	tags := func(name, role string) map[string]string {
		m := map[string]string{"Name": name, "kdrill/role": role}
		for k, v := range cluster {
			m[k] = v
		}
		return m
	}
	f.cp = b.Add(LocalMachine{Name: "cp", Zone: "us-east-1a", PrivateIP: "10.0.1.10", Prefixes: []string{"10.244.0.0/24"},
		Tags: tags("cp", "control-plane"),
		Volumes: []Volume{
			{ID: "vol-00000000000000001", Device: "/dev/xvda", SizeGiB: 8, DeleteOnTermination: true},
			{ID: "vol-00000000000000002", Device: "/dev/sdf", SizeGiB: 20},
		}}).ID
	for i, ip := range []string{"10.0.2.10", "10.0.2.11"} {
		name := []string{"w1", "w2"}[i]
		f.workers = append(f.workers, b.Add(LocalMachine{Name: name, Zone: "us-east-1b", PrivateIP: ip,
			Prefixes: []string{[]string{"10.244.1.0/24", "10.244.2.0/24"}[i]}, Tags: tags(name, "worker")}).ID)
	}
	o := Options{Backend: b, AccessKeyID: testKey, SecretAccessKey: testSecret, Region: testRegion, S3Dir: t.TempDir()}
	if mod != nil {
		mod(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.http = httptest.NewServer(srv)
	t.Cleanup(func() {
		f.http.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	f.c = newClients(sdkConfig(testKey, testSecret, o.Region), f.http.URL)
	return f
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
