package awslocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// callEach makes one read-only call to every service and returns the
// error codes the SDK surfaced.
func callEach(ctx context.Context, c clients) map[string]string {
	codes := map[string]string{}
	_, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	codes["ec2"] = apiCode(err)
	_, err = c.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	codes["cloudwatch"] = apiCode(err)
	_, err = c.ssm.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{})
	codes["ssm"] = apiCode(err)
	_, err = c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("any")})
	codes["s3"] = apiCode(err)
	return codes
}

func TestSignatures(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.c.s3.CreateBucket(testContext(t), &s3.CreateBucketInput{Bucket: aws.String("any")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		key, secret, region string
		want                map[string]string
	}{
		{"right credential", testKey, testSecret, testRegion, map[string]string{"ec2": "", "cloudwatch": "", "ssm": "", "s3": ""}},
		{"wrong secret", testKey, "not-the-secret", testRegion, map[string]string{
			"ec2": "AuthFailure", "cloudwatch": "SignatureDoesNotMatch", "ssm": "InvalidSignatureException", "s3": "SignatureDoesNotMatch"}},
		{"unknown key", "AKIAUNKNOWNUNKNOWN00", testSecret, testRegion, map[string]string{
			"ec2": "AuthFailure", "cloudwatch": "InvalidClientTokenId", "ssm": "UnrecognizedClientException", "s3": "InvalidAccessKeyId"}},
		{"other region", testKey, testSecret, "eu-west-1", map[string]string{
			"ec2": "AuthFailure", "cloudwatch": "IncompleteSignature", "ssm": "IncompleteSignatureException", "s3": "AuthorizationHeaderMalformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := callEach(testContext(t), newClients(sdkConfig(tt.key, tt.secret, tt.region), f.http.URL))
			for svc, want := range tt.want {
				if got[svc] != want {
					t.Errorf("%s: code %q, want %q", svc, got[svc], want)
				}
			}
		})
	}
}

// signedRequest builds an EC2 DescribeInstances request signed at when.
func signedRequest(t *testing.T, url, body string, when time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ec2", testRegion, when); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSignatureEdges(t *testing.T) {
	f := newFixture(t, nil)
	const body = "Action=DescribeInstances&Version=2016-11-15"
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"signed", func() *http.Request { return signedRequest(t, f.http.URL, body, time.Now()) }, http.StatusOK, ""},
		{"header added after signing", func() *http.Request {
			r := signedRequest(t, f.http.URL, body, time.Now())
			r.Header.Set("X-Forwarded-For", "10.1.2.3")
			return r
		}, http.StatusOK, ""},
		{"body changed after signing", func() *http.Request {
			r := signedRequest(t, f.http.URL, body, time.Now())
			changed := body + "&InstanceId.1=i-0123456789abcdef0"
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(changed)), int64(len(changed))
			return r
		}, http.StatusUnauthorized, "AuthFailure"},
		{"signed an hour ago", func() *http.Request { return signedRequest(t, f.http.URL, body, time.Now().Add(-time.Hour)) }, http.StatusBadRequest, "RequestExpired"},
		{"not signed", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, f.http.URL+"/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, http.StatusUnauthorized, "MissingAuthenticationToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || (tt.code != "" && !strings.Contains(string(b), "<Code>"+tt.code+"</Code>")) {
				t.Errorf("got %s %s, want %d %s", resp.Status, b, tt.status, tt.code)
			}
		})
	}
}
