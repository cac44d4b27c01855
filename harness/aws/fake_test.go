package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// fakeAWS is an HTTP server that speaks the wire protocols of the four
// services the provider uses, each the way AWS does: EC2's query protocol
// (form-encoded POST, XML answers), CloudWatch's Smithy RPC v2 CBOR, SSM's
// AWS JSON 1.1 and S3's REST-XML with path-style addressing. Every request
// is decoded and recorded; tests answer them with handlers per operation.
type fakeAWS struct {
	t   *testing.T
	URL string

	mu        sync.Mutex
	calls     []call
	handlers  map[string]func(call) reply
	instances []fixtureInstance
}

// call is one decoded request.
type call struct {
	Service string // ec2, cloudwatch, ssm or s3
	Op      string
	Form    url.Values     // ec2
	JSON    map[string]any // ssm
	CBOR    cbor.Map       // cloudwatch
	Method  string         // s3
	Bucket  string         // s3
	Key     string         // s3
	Query   url.Values     // s3
	Header  http.Header
	Body    []byte
}

type reply struct {
	Status int
	Header map[string]string
	Body   []byte
}

func newFakeAWS(t *testing.T) *fakeAWS {
	t.Helper()
	f := &fakeAWS{t: t, handlers: map[string]func(call) reply{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.on("ec2:DescribeInstances", f.describeInstances)
	return f
}

// on answers service:Operation with h.
func (f *fakeAWS) on(key string, h func(call) reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[key] = h
}

// callsTo returns the recorded calls to service:Operation.
func (f *fakeAWS) callsTo(key string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Service+":"+c.Op == key {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := call{Header: r.Header.Clone(), Body: body, Method: r.Method}
	const cwPrefix = "/service/GraniteServiceVersion20100801/operation/"
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		c.Service = "ssm"
		svc, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		if svc != "AmazonSSM" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
			f.t.Errorf("SSM request with target %q and content type %q", r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"))
		}
		c.Op = op
		if err := json.Unmarshal(body, &c.JSON); err != nil {
			f.t.Errorf("SSM %s: body is not JSON: %v", op, err)
		}
	case strings.HasPrefix(r.URL.Path, cwPrefix):
		c.Service, c.Op = "cloudwatch", strings.TrimPrefix(r.URL.Path, cwPrefix)
		if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			f.t.Errorf("CloudWatch %s without Smithy-Protocol: rpc-v2-cbor", c.Op)
		}
		if len(body) > 0 {
			v, err := cbor.Decode(body)
			if err != nil {
				f.t.Errorf("CloudWatch %s: body is not CBOR: %v", c.Op, err)
			}
			c.CBOR, _ = v.(cbor.Map)
		}
	case r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		c.Service = "ec2"
		form, err := url.ParseQuery(string(body))
		if err != nil {
			f.t.Errorf("EC2 request body is not a form: %v", err)
		}
		c.Form, c.Op = form, form.Get("Action")
		if v := form.Get("Version"); v != "2016-11-15" {
			f.t.Errorf("EC2 %s with API version %q", c.Op, v)
		}
	default:
		c.Service = "s3"
		c.Query = r.URL.Query()
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		c.Bucket, c.Key = bucket, key
		switch {
		case r.Method == http.MethodGet && key == "" && c.Query.Get("list-type") == "2":
			c.Op = "ListObjectsV2"
		case r.Method == http.MethodPut && key != "":
			c.Op = "PutObject"
		case r.Method == http.MethodGet && key != "":
			c.Op = "GetObject"
		case r.Method == http.MethodHead && key != "":
			c.Op = "HeadObject"
		default:
			c.Op = r.Method + " " + r.URL.String()
		}
	}
	if r.Header.Get("Authorization") == "" && c.Query.Get("X-Amz-Signature") == "" {
		f.t.Errorf("%s %s: request is not signed", c.Service, c.Op)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	h := f.handlers[c.Service+":"+c.Op]
	f.mu.Unlock()
	var rep reply
	if h == nil {
		f.t.Errorf("unexpected call %s %s", c.Service, c.Op)
		rep = errorReply(c.Service, "KdrillUnexpectedCall", "the test does not expect "+c.Op)
	} else {
		rep = h(c)
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	w.WriteHeader(rep.Status)
	w.Write(rep.Body)
}

// errorReply is a client error (400: never retried) in the service's
// protocol.
func errorReply(service, code, msg string) reply {
	switch service {
	case "ec2":
		return ec2Err(code, msg)
	case "ssm":
		return ssmErr(code, msg)
	case "cloudwatch":
		return cwErr(code, msg)
	}
	return reply{Status: 400, Header: map[string]string{"Content-Type": "application/xml"},
		Body: []byte(fmt.Sprintf("<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg))}
}

func ec2OK(op, inner string) reply {
	return reply{Header: map[string]string{"Content-Type": "text/xml;charset=UTF-8"}, Body: []byte(fmt.Sprintf(
		`<?xml version="1.0" encoding="UTF-8"?><%[1]sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>%[2]s</%[1]sResponse>`, op, inner))}
}

func ec2Err(code, msg string) reply {
	return reply{Status: 400, Header: map[string]string{"Content-Type": "text/xml;charset=UTF-8"}, Body: []byte(fmt.Sprintf(
		`<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>req-1</RequestID></Response>`, code, msg))}
}

func ssmOK(v any) reply {
	b, _ := json.Marshal(v)
	return reply{Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}, Body: b}
}

func ssmErr(code, msg string) reply {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	return reply{Status: 400, Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}, Body: b}
}

func cwOK(m cbor.Map) reply {
	return reply{Header: map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}, Body: cbor.Encode(m)}
}

func cwErr(code, msg string) reply {
	return reply{Status: 400, Header: map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"},
		Body: cbor.Encode(cbor.Map{"__type": cbor.String(code), "message": cbor.String(msg)})}
}

func xmlOK(body string) reply {
	return reply{Header: map[string]string{"Content-Type": "application/xml"}, Body: []byte(`<?xml version="1.0" encoding="UTF-8"?>` + body)}
}

// fixtureInstance is an instance the fake's DescribeInstances knows.
type fixtureInstance struct {
	ID, Role, DNS, Zone, Subnet, IP, State string
	Tags                                   map[string]string // besides the selector and role
	Extra                                  string            // more XML inside the instance
}

func (fi fixtureInstance) xml() string {
	tags := map[string]string{"kdrill/cluster": "drill"}
	if fi.Role != "" {
		tags["kdrill/role"] = fi.Role
	}
	for k, v := range fi.Tags {
		tags[k] = v
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ts strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&ts, "<item><key>%s</key><value>%s</value></item>", k, tags[k])
	}
	state := fi.State
	if state == "" {
		state = "running"
	}
	return fmt.Sprintf(`<item><instanceId>%s</instanceId><imageId>ami-0cp</imageId><instanceState><code>16</code><name>%s</name></instanceState>`+
		`<privateDnsName>%s</privateDnsName><instanceType>m5.large</instanceType><placement><availabilityZone>%s</availabilityZone></placement>`+
		`<subnetId>%s</subnetId><vpcId>vpc-1</vpcId><privateIpAddress>%s</privateIpAddress><tagSet>%s</tagSet>%s</item>`,
		fi.ID, state, fi.DNS, fi.Zone, fi.Subnet, fi.IP, ts.String(), fi.Extra)
}

// describeInstances answers from f.instances: by InstanceId.N when given,
// else every instance (the tag filters are checked by the tests).
func (f *fakeAWS) describeInstances(c call) reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for i := 1; c.Form.Get(fmt.Sprintf("InstanceId.%d", i)) != ""; i++ {
		ids = append(ids, c.Form.Get(fmt.Sprintf("InstanceId.%d", i)))
	}
	var items strings.Builder
	for _, fi := range f.instances {
		if len(ids) > 0 && !contains(ids, fi.ID) {
			continue
		}
		items.WriteString(fi.xml())
	}
	return ec2OK("DescribeInstances", `<reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet>`+
		items.String()+`</instancesSet></item></reservationSet>`)
}

func (f *fakeAWS) setInstances(insts ...fixtureInstance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances = insts
}

func (f *fakeAWS) setState(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.instances {
		if f.instances[i].ID == id {
			f.instances[i].State = state
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// The drill topology: a control plane in zone a, two workers in zone b.
var (
	cpFixture = fixtureInstance{ID: "i-0cp", Role: "control-plane", DNS: "ip-10-0-1-10.ec2.internal", Zone: "us-east-1a", Subnet: "subnet-a", IP: "10.0.1.10"}
	w1Fixture = fixtureInstance{ID: "i-0w1", Role: "worker", DNS: "ip-10-0-2-11.ec2.internal", Zone: "us-east-1b", Subnet: "subnet-b", IP: "10.0.2.11"}
	w2Fixture = fixtureInstance{ID: "i-0w2", Role: "worker", DNS: "ip-10-0-2-12.ec2.internal", Zone: "us-east-1b", Subnet: "subnet-b", IP: "10.0.2.12", Tags: map[string]string{"kdrill/node": "worker-2"}}
)

// isolate gives the test an AWS environment of its own: empty config and
// credentials files, no AWS_* variables, no instance metadata service.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// withCredentials sets static test credentials.
func withCredentials(t *testing.T) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDKDRILLTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "kdrill-test-secret")
}

// testOptions selects the fixture cluster through the fake.
func testOptions(f *fakeAWS) Options {
	return Options{Region: "us-east-1", Endpoint: f.URL, Tags: map[string]string{"kdrill/cluster": "drill"}}
}

// openFake opens a provider on the fake with the drill topology (unless the
// test set other instances) and fast polling.
func openFake(t *testing.T, f *fakeAWS, o Options) *Provider {
	t.Helper()
	isolate(t)
	withCredentials(t)
	f.mu.Lock()
	if f.instances == nil {
		f.instances = []fixtureInstance{cpFixture, w1Fixture, w2Fixture}
	}
	f.mu.Unlock()
	p, err := Open(testContext(t), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	p.pollMin, p.pollMax, p.statePoll = time.Millisecond, 4*time.Millisecond, time.Millisecond
	return p
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
