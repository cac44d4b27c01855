package awslocal

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestCRC64NVME(t *testing.T) {
	// The CRC-64/NVME check value from the catalogue of CRCs.
	if got := crc64.Checksum([]byte("123456789"), crc64.MakeTable(crc64NVME)); got != 0xae8b14860a799888 {
		t.Errorf("check value %x", got)
	}
}

// s3Clients returns the fixture's S3 client over plain HTTP (checksums in
// headers) and one over TLS (checksums in aws-chunked trailers).
func s3Clients(t *testing.T, f *fixture) map[string]*s3.Client {
	t.Helper()
	tlsSrv := httptest.NewTLSServer(f.srv)
	t.Cleanup(tlsSrv.Close)
	cfg := sdkConfig(testKey, testSecret, testRegion)
	cfg.HTTPClient = tlsSrv.Client()
	return map[string]*s3.Client{"http": f.c.s3, "https": newClients(cfg, tlsSrv.URL).s3}
}

func TestS3Objects(t *testing.T) {
	f := newFixture(t, nil)
	for proto, c := range s3Clients(t, f) {
		t.Run(proto, func(t *testing.T) {
			ctx := testContext(t)
			bucket := "kdrill-backups-" + proto
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			var nf *types.NotFound
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket")}); !errors.As(err, &nf) {
				t.Errorf("head of a missing bucket: %T %v", err, err)
			}

			payload := bytes.Repeat([]byte("etcd snapshot "), 100000) // 1.4 MB, several chunks
			before := time.Now().Add(-time.Second)
			put, err := c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String("etcd/2025/snap-1.db"), Body: bytes.NewReader(payload),
				ContentType: aws.String("application/octet-stream"), Metadata: map[string]string{"revision": "42"},
			})
			if err != nil {
				t.Fatal(err)
			}
			sum := md5.Sum(payload)
			if aws.ToString(put.ETag) != `"`+hex.EncodeToString(sum[:])+`"` {
				t.Errorf("etag %s", aws.ToString(put.ETag))
			}
			onDisk, err := os.ReadFile(filepath.Join(f.srv.S3Dir(), bucket, "etcd", "2025", "snap-1.db"))
			if err != nil || !bytes.Equal(onDisk, payload) {
				t.Errorf("the object is not the file on disk: %v", err)
			}

			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("etcd/2025/snap-1.db"), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(got.Body) // the SDK checks the checksum while reading
			got.Body.Close()
			if err != nil || !bytes.Equal(body, payload) {
				t.Fatalf("read back %d bytes: %v", len(body), err)
			}
			if aws.ToString(got.ContentType) != "application/octet-stream" || got.Metadata["revision"] != "42" ||
				got.LastModified == nil || got.LastModified.Before(before) || aws.ToInt64(got.ContentLength) != int64(len(payload)) {
				t.Errorf("get: type %q meta %v modified %v length %d", aws.ToString(got.ContentType), got.Metadata, got.LastModified, aws.ToInt64(got.ContentLength))
			}
			if aws.ToString(got.ChecksumCRC32) == "" {
				t.Errorf("no CRC32 checksum returned (CRC64NVME %q)", aws.ToString(got.ChecksumCRC64NVME))
			}

			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("etcd/2025/snap-1.db")})
			if err != nil || aws.ToInt64(head.ContentLength) != int64(len(payload)) || aws.ToString(head.ETag) != aws.ToString(put.ETag) {
				t.Errorf("head: %+v %v", head, err)
			}
			if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("nope")}); !errors.As(err, &nf) {
				t.Errorf("head of a missing key: %T %v", err, err)
			}
			var nk *types.NoSuchKey
			if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("nope")}); !errors.As(err, &nk) {
				t.Errorf("get of a missing key: %T %v", err, err)
			}
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")}); apiCode(err) != "NoSuchBucket" {
				t.Errorf("put into a missing bucket: %v", err)
			}

			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("etcd/2025/snap-1.db")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("etcd/2025/snap-1.db")}); !errors.As(err, &nk) {
				t.Errorf("get after delete: %v", err)
			}
			if _, err := os.Stat(filepath.Join(f.srv.S3Dir(), bucket, "etcd")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("empty folders left after delete: %v", err)
			}
		})
	}
}

func TestListObjectsV2(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	c := f.c.s3
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("list")}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"etcd-x", "etcd/a.db", "etcd/b.db", "etcd/old/c.db", "other/d", "top"} // by bytes: - before /
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("list"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(in s3.ListObjectsV2Input) (got, prefixes []string) {
		t.Helper()
		in.Bucket = aws.String("list")
		p := s3.NewListObjectsV2Paginator(c, &in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				got = append(got, aws.ToString(o.Key))
				if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || o.LastModified == nil || aws.ToString(o.ETag) == "" {
					t.Errorf("object %+v", o)
				}
			}
			for _, cp := range page.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(cp.Prefix))
			}
		}
		return got, prefixes
	}
	tests := []struct {
		name           string
		in             s3.ListObjectsV2Input
		want, prefixes []string
	}{
		{"all", s3.ListObjectsV2Input{}, keys, nil},
		{"prefix", s3.ListObjectsV2Input{Prefix: aws.String("etcd/")}, []string{"etcd/a.db", "etcd/b.db", "etcd/old/c.db"}, nil},
		{"prefix and delimiter", s3.ListObjectsV2Input{Prefix: aws.String("etcd/"), Delimiter: aws.String("/")}, []string{"etcd/a.db", "etcd/b.db"}, []string{"etcd/old/"}},
		{"delimiter at the top", s3.ListObjectsV2Input{Delimiter: aws.String("/")}, []string{"etcd-x", "top"}, []string{"etcd/", "other/"}},
		{"pages of two", s3.ListObjectsV2Input{MaxKeys: aws.Int32(2)}, keys, nil},
		{"pages of one with delimiter", s3.ListObjectsV2Input{MaxKeys: aws.Int32(1), Delimiter: aws.String("/")}, []string{"etcd-x", "top"}, []string{"etcd/", "other/"}},
		{"start after", s3.ListObjectsV2Input{StartAfter: aws.String("etcd/b.db")}, []string{"etcd/old/c.db", "other/d", "top"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, prefixes := list(tt.in)
			if !slices.Equal(got, tt.want) || !slices.Equal(prefixes, tt.prefixes) {
				t.Errorf("got %v %v, want %v %v", got, prefixes, tt.want, tt.prefixes)
			}
		})
	}
}

func TestS3Errors(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	c := f.c.s3
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")}); apiCode(err) != "InvalidBucketName" {
		t.Errorf("bad bucket name: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("elsewhere"), CreateBucketConfiguration: &types.CreateBucketConfiguration{
		LocationConstraint: types.BucketLocationConstraintEuWest1}}); apiCode(err) != "IllegalLocationConstraintException" {
		t.Errorf("another region's constraint: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("conflicts")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conflicts"), Key: aws.String("a"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conflicts"), Key: aws.String("a/b"), Body: strings.NewReader("x")}); apiCode(err) != "InvalidArgument" {
		t.Errorf("a key under an object: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("conflicts"), Key: aws.String("../escape"), Body: strings.NewReader("x")}); err == nil {
		t.Error("a key with .. was stored")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.srv.S3Dir()), "escape")); err == nil {
		t.Error("a key escaped the S3 folder")
	}
}

func TestPresignedURLs(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	if _, err := f.c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(f.c.s3)
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("from-node.db")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, put.Method, put.URL, strings.NewReader("uploaded by curl"))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned put: %s", resp.Status)
	}
	get, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String("from-node.db")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "uploaded by curl" {
		t.Errorf("presigned get: %s %q", resp.Status, body)
	}
	tampered := strings.Replace(get.URL, "from-node.db", "other.db", 1)
	resp, err = http.Get(tampered)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("tampered presigned URL: %s %s", resp.Status, body)
	}
}
