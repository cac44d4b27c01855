package awslocal

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// S3 speaks REST-XML with path-style addressing: /<bucket> and
// /<bucket>/<key>, the operation chosen by method and query, errors as an
// <Error> document (no body for HEAD).

const (
	s3Namespace               = "http://s3.amazonaws.com/doc/2006-03-01/"
	unsignedPayload           = "UNSIGNED-PAYLOAD"
	streamingUnsignedTrailer  = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	maxBucketConfigBody       = 1 << 20
	s3DefaultContentType      = "binary/octet-stream"
	s3ListDefaultMaxKeys      = 1000
	s3ChecksumHeaderPrefix    = "X-Amz-Checksum-"
	s3SDKChecksumAlgoHeader   = "X-Amz-Sdk-Checksum-Algorithm"
	s3DefaultChecksumAlgoritm = "CRC64NVME"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// s3Err is an S3 error answer.
type s3Err struct {
	status   int
	code     string
	msg      string
	resource string
}

func (e *s3Err) Error() string { return e.code + ": " + e.msg }

func s3Errorf(status int, code, format string, args ...any) *s3Err {
	return &s3Err{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

type s3ErrorXML struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

func writeS3Error(w http.ResponseWriter, r *http.Request, reqID string, e *s3Err) {
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	writeXML(w, e.status, s3ErrorXML{Code: e.code, Message: e.msg, Resource: e.resource, RequestID: reqID, HostID: hostID(reqID)})
}

func hostID(reqID string) string {
	h := sha256.Sum256([]byte(reqID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func s3AuthError(r *http.Request, a *authError) *s3Err {
	presigned := r.URL.Query().Get("X-Amz-Signature") != ""
	switch a.kind {
	case authMissing:
		return s3Errorf(http.StatusForbidden, "AccessDenied", "Access Denied")
	case authUnknownKey:
		return s3Errorf(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	case authExpired:
		if presigned {
			return s3Errorf(http.StatusForbidden, "AccessDenied", "%s", a.msg)
		}
		return s3Errorf(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	case authMalformed:
		if presigned {
			return s3Errorf(http.StatusBadRequest, "AuthorizationQueryParametersError", "%s", a.msg)
		}
		return s3Errorf(http.StatusBadRequest, "AuthorizationHeaderMalformed", "%s", a.msg)
	default:
		return s3Errorf(http.StatusForbidden, "SignatureDoesNotMatch", "%s", a.msg)
	}
}

func notImplemented(what string) *s3Err {
	return s3Errorf(http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that awslocal does not implement: %s", what)
}

// objectSubresources are query parameters that turn an object request into
// another operation, none of which awslocal implements.
var objectSubresources = []string{"acl", "tagging", "uploads", "uploadId", "partNumber", "versionId", "retention",
	"legal-hold", "torrent", "restore", "select", "attributes", "annotation"}

// bucketSubresources likewise for bucket requests.
var bucketSubresources = []string{"acl", "policy", "cors", "lifecycle", "location", "logging", "notification", "replication",
	"tagging", "versioning", "website", "encryption", "uploads", "versions", "delete", "object-lock", "ownershipControls",
	"publicAccessBlock", "accelerate", "requestPayment", "analytics", "inventory", "metrics", "intelligent-tiering", "policyStatus", "metadataTable", "metadataConfiguration"}

func subresource(q url.Values, names []string) string {
	for _, n := range names {
		if q.Has(n) {
			return n
		}
	}
	return ""
}

func (s *Server) serveS3(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("X-Amz-Request-Id", reqID)
	w.Header().Set("X-Amz-Id-2", hostID(reqID))
	fail := func(e *s3Err) { writeS3Error(w, r, reqID, e) }

	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if r.URL.Query().Get("X-Amz-Signature") != "" && payloadHash == "" {
		payloadHash = unsignedPayload // presigned URLs do not sign the body
	}
	if r.Header.Get("Authorization") != "" && payloadHash == "" {
		fail(s3Errorf(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"))
		return
	}
	switch {
	case payloadHash == "", payloadHash == unsignedPayload, payloadHash == streamingUnsignedTrailer, sha256Hex.MatchString(payloadHash):
	case strings.HasPrefix(payloadHash, "STREAMING-"):
		fail(notImplemented("signed streaming uploads (" + payloadHash + ")"))
		return
	default:
		fail(s3Errorf(http.StatusBadRequest, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value."))
		return
	}
	if aerr := s.verify(r, "s3", payloadHash); aerr != nil {
		fail(s3AuthError(r, aerr))
		return
	}

	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	var err *s3Err
	switch {
	case bucket == "":
		err = notImplemented("ListBuckets")
	case key == "":
		if sr := subresource(q, bucketSubresources); sr != "" {
			err = notImplemented("bucket subresource ?" + sr)
			break
		}
		switch r.Method {
		case http.MethodPut:
			err = s.s3CreateBucket(w, r, bucket, payloadHash)
		case http.MethodHead:
			err = s.s3HeadBucket(w, bucket)
		case http.MethodGet:
			if q.Get("list-type") != "2" {
				err = notImplemented("ListObjects version 1 (use ListObjectsV2)")
				break
			}
			err = s.s3ListObjectsV2(w, q, bucket)
		case http.MethodDelete:
			err = s.s3DeleteBucket(w, bucket)
		default:
			err = notImplemented(r.Method + " on a bucket")
		}
	default:
		if sr := subresource(q, objectSubresources); sr != "" {
			err = notImplemented("object subresource ?" + sr)
			break
		}
		if p := keyProblem(key); p != "" && r.Method == http.MethodPut {
			err = s3Errorf(http.StatusBadRequest, "InvalidArgument", "%s", p)
			break
		}
		switch r.Method {
		case http.MethodPut:
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				err = notImplemented("CopyObject")
				break
			}
			err = s.s3PutObject(w, r, bucket, key, payloadHash)
		case http.MethodGet, http.MethodHead:
			err = s.s3GetObject(w, r, bucket, key)
		case http.MethodDelete:
			err = s.s3DeleteObject(w, bucket, key)
		default:
			err = notImplemented(r.Method + " on an object")
		}
	}
	if err != nil {
		if err.resource == "" {
			err.resource = r.URL.Path
		}
		fail(err)
	}
}

func noSuchBucket(b string) *s3Err {
	return &s3Err{status: http.StatusNotFound, code: "NoSuchBucket", msg: "The specified bucket does not exist", resource: b}
}

type createBucketXML struct {
	LocationConstraint string `xml:"LocationConstraint"`
}

func (s *Server) s3CreateBucket(w http.ResponseWriter, r *http.Request, bucket, payloadHash string) *s3Err {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBucketConfigBody))
	if err != nil {
		return s3Errorf(http.StatusBadRequest, "IncompleteBody", "%v", err)
	}
	if sha256Hex.MatchString(payloadHash) {
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != payloadHash {
			return s3Errorf(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	if !validBucket(bucket) {
		return s3Errorf(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	}
	var cfg createBucketXML
	if len(bytes.TrimSpace(body)) > 0 {
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return s3Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		}
	}
	// us-east-1 takes no location constraint; every other region wants its
	// own name.
	switch {
	case cfg.LocationConstraint == "" && s.o.Region != "us-east-1":
		return s3Errorf(http.StatusBadRequest, "IllegalLocationConstraintException", "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	case cfg.LocationConstraint != "" && cfg.LocationConstraint != s.o.Region:
		return s3Errorf(http.StatusBadRequest, "IllegalLocationConstraintException", "The %s location constraint is incompatible for the region specific endpoint this request was sent to.", cfg.LocationConstraint)
	}
	made, err := s.store.createBucket(bucket)
	if err != nil {
		return s3Errorf(http.StatusInternalServerError, "InternalError", "%v", err)
	}
	if !made && s.o.Region != "us-east-1" {
		return &s3Err{status: http.StatusConflict, code: "BucketAlreadyOwnedByYou", msg: "Your previous request to create the named bucket succeeded and you already own it.", resource: bucket}
	}
	w.Header().Set("Location", "/"+bucket)
	w.Header().Set("X-Amz-Bucket-Arn", "arn:aws:s3:::"+bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) s3HeadBucket(w http.ResponseWriter, bucket string) *s3Err {
	if !s.store.bucketExists(bucket) {
		return noSuchBucket(bucket)
	}
	w.Header().Set("X-Amz-Bucket-Region", s.o.Region)
	w.Header().Set("X-Amz-Bucket-Arn", "arn:aws:s3:::"+bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) s3DeleteBucket(w http.ResponseWriter, bucket string) *s3Err {
	if !s.store.bucketExists(bucket) {
		return noSuchBucket(bucket)
	}
	if err := s.store.deleteBucket(bucket); err != nil {
		if errors.Is(err, errBucketNotEmpty) {
			return &s3Err{status: http.StatusConflict, code: "BucketNotEmpty", msg: "The bucket you tried to delete is not empty", resource: bucket}
		}
		return s3Errorf(http.StatusInternalServerError, "InternalError", "%v", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checksumAlgorithm finds the checksum an upload names: a checksum header,
// the SDK's algorithm header, or a trailer.
func checksumAlgorithm(r *http.Request) (alg, value string, trailer bool, err *s3Err) {
	for k, v := range r.Header {
		if a, ok := strings.CutPrefix(k, s3ChecksumHeaderPrefix); ok && a != "Mode" && a != "Type" && a != "Algorithm" {
			alg, value = strings.ToUpper(a), v[0]
		}
	}
	if t := r.Header.Get("X-Amz-Trailer"); t != "" {
		a, ok := strings.CutPrefix(strings.ToLower(t), "x-amz-checksum-")
		if !ok {
			return "", "", false, s3Errorf(http.StatusBadRequest, "InvalidRequest", "The trailer %s is not a checksum.", t)
		}
		alg, trailer = strings.ToUpper(a), true
	}
	if alg == "" {
		alg = strings.ToUpper(r.Header.Get(s3SDKChecksumAlgoHeader))
	}
	if alg != "" && checksumHash(alg) == nil {
		return "", "", false, s3Errorf(http.StatusBadRequest, "InvalidRequest", "awslocal does not support the %s checksum; use CRC32, CRC32C, CRC64NVME, SHA1, SHA256 or SHA512.", alg)
	}
	return alg, value, trailer, nil
}

func (s *Server) s3PutObject(w http.ResponseWriter, r *http.Request, bucket, key, payloadHash string) *s3Err {
	if !s.store.bucketExists(bucket) {
		return noSuchBucket(bucket)
	}
	alg, want, trailer, cerr := checksumAlgorithm(r)
	if cerr != nil {
		return cerr
	}
	var body io.Reader = r.Body
	var chunks *chunkedReader
	if payloadHash == streamingUnsignedTrailer {
		if !slices.Contains(strings.Split(strings.ReplaceAll(r.Header.Get("Content-Encoding"), " ", ""), ","), "aws-chunked") {
			return s3Errorf(http.StatusBadRequest, "InvalidRequest", "STREAMING-UNSIGNED-PAYLOAD-TRAILER needs Content-Encoding: aws-chunked.")
		}
		chunks = newChunkedReader(r.Body)
		body = chunks
	}
	contentMD5 := r.Header.Get("Content-Md5")
	meta := objectMeta{ContentType: r.Header.Get("Content-Type"), UserMetadata: map[string]string{}}
	if meta.ContentType == "" {
		meta.ContentType = s3DefaultContentType
	}
	for k, v := range r.Header {
		if name, ok := strings.CutPrefix(k, "X-Amz-Meta-"); ok {
			meta.UserMetadata[strings.ToLower(name)] = v[0]
		}
	}
	if alg == "" {
		alg = s3DefaultChecksumAlgoritm // S3 checksums every new object
	}
	check := func(wr written) error {
		if chunks != nil {
			if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" && dl != strconv.FormatInt(wr.size, 10) {
				return s3Errorf(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the X-Amz-Decoded-Content-Length HTTP header.")
			}
			if trailer {
				want = chunks.trailers.Get("X-Amz-Checksum-" + alg)
				if want == "" {
					return s3Errorf(http.StatusBadRequest, "InvalidRequest", "The upload named the trailer x-amz-checksum-%s but did not send it.", strings.ToLower(alg))
				}
			}
		}
		if sha256Hex.MatchString(payloadHash) && wr.sha256hex != payloadHash {
			return s3Errorf(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		if contentMD5 != "" {
			got := base64.StdEncoding.EncodeToString(wr.md5)
			if d, err := base64.StdEncoding.DecodeString(contentMD5); err != nil || len(d) != md5.Size {
				return s3Errorf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
			} else if got != contentMD5 {
				return s3Errorf(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
			}
		}
		if want != "" && wr.sums[alg] != want {
			return s3Errorf(http.StatusBadRequest, "BadDigest", "The %s you specified did not match the calculated checksum.", alg)
		}
		return nil
	}
	now := s.now()
	wr, err := s.store.put(bucket, key, body, []string{alg}, check, meta, now)
	if err != nil {
		var se *s3Err
		var kc *keyConflict
		switch {
		case errors.As(err, &se):
			return se
		case errors.As(err, &kc):
			return s3Errorf(http.StatusBadRequest, "InvalidArgument", "%s", kc.msg)
		case errors.Is(err, errNoBucket):
			return noSuchBucket(bucket)
		case errors.Is(err, errMalformedChunk):
			return s3Errorf(http.StatusBadRequest, "IncompleteBody", "%v", err)
		}
		return s3Errorf(http.StatusInternalServerError, "InternalError", "%v", err)
	}
	w.Header().Set("ETag", `"`+hex.EncodeToString(wr.md5)+`"`)
	w.Header().Set("X-Amz-Server-Side-Encryption", "AES256")
	w.Header().Set(s3ChecksumHeaderPrefix+strings.ToLower(alg), wr.sums[alg])
	w.Header().Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) s3GetObject(w http.ResponseWriter, r *http.Request, bucket, key string) *s3Err {
	if !s.store.bucketExists(bucket) {
		return noSuchBucket(bucket)
	}
	f, info, err := s.store.open(bucket, key)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &s3Err{status: http.StatusNotFound, code: "NoSuchKey", msg: "The specified key does not exist.", resource: key}
		}
		return s3Errorf(http.StatusInternalServerError, "InternalError", "%v", err)
	}
	defer f.Close()
	etag := s.store.etag(bucket, info)
	if cerr := preconditions(r, etag, info.Modified); cerr != nil {
		if cerr.status == http.StatusNotModified {
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return cerr
	}
	h := w.Header()
	ct := info.Meta.ContentType
	if ct == "" {
		ct = s3DefaultContentType
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Amz-Server-Side-Encryption", "AES256")
	for k, v := range info.Meta.UserMetadata {
		h.Set("X-Amz-Meta-"+k, v)
	}
	if strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && r.Header.Get("Range") == "" && info.Meta.Checksum != "" {
		h.Set(s3ChecksumHeaderPrefix+strings.ToLower(info.Meta.ChecksumAlg), info.Meta.Checksum)
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	// ServeContent answers Range requests and writes no body for HEAD.
	http.ServeContent(w, r, "", info.Modified, f)
	return nil
}

// preconditions checks If-Match and friends the way S3 does (ETag tests
// win over date tests); a 304 comes back as an error with that status.
func preconditions(r *http.Request, etag string, modified time.Time) *s3Err {
	modified = modified.Truncate(time.Second)
	since := func(h string) (time.Time, bool) {
		t, err := http.ParseTime(r.Header.Get(h))
		return t, err == nil
	}
	failed := s3Errorf(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	if im := r.Header.Get("If-Match"); im != "" {
		if im != "*" && !slices.Contains(splitETags(im), etag) {
			return failed
		}
	} else if t, ok := since("If-Unmodified-Since"); ok && modified.After(t) {
		return failed
	}
	notModified := &s3Err{status: http.StatusNotModified}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if inm == "*" || slices.Contains(splitETags(inm), etag) {
			return notModified
		}
	} else if t, ok := since("If-Modified-Since"); ok && !modified.After(t) {
		return notModified
	}
	return nil
}

func splitETags(h string) []string {
	var out []string
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if !strings.HasPrefix(t, `"`) {
			t = `"` + t + `"`
		}
		out = append(out, t)
	}
	return out
}

func (s *Server) s3DeleteObject(w http.ResponseWriter, bucket, key string) *s3Err {
	if !s.store.bucketExists(bucket) {
		return noSuchBucket(bucket)
	}
	if keyProblem(key) == "" {
		if err := s.store.remove(bucket, key); err != nil {
			return s3Errorf(http.StatusInternalServerError, "InternalError", "%v", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type listObjectXML struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              int64  `xml:"Size"`
	StorageClass      string `xml:"StorageClass"`
}

type commonPrefixXML struct {
	Prefix string `xml:"Prefix"`
}

type listObjectsV2XML struct {
	XMLName               xml.Name          `xml:"ListBucketResult"`
	Xmlns                 string            `xml:"xmlns,attr"`
	Name                  string            `xml:"Name"`
	Prefix                string            `xml:"Prefix"`
	Delimiter             string            `xml:"Delimiter,omitempty"`
	MaxKeys               int               `xml:"MaxKeys"`
	KeyCount              int               `xml:"KeyCount"`
	IsTruncated           bool              `xml:"IsTruncated"`
	ContinuationToken     string            `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string            `xml:"NextContinuationToken,omitempty"`
	StartAfter            string            `xml:"StartAfter,omitempty"`
	EncodingType          string            `xml:"EncodingType,omitempty"`
	Contents              []listObjectXML   `xml:"Contents"`
	CommonPrefixes        []commonPrefixXML `xml:"CommonPrefixes"`
}

func (s *Server) s3ListObjectsV2(w http.ResponseWriter, q url.Values, bucket string) *s3Err {
	if !s.store.bucketExists(bucket) {
		return noSuchBucket(bucket)
	}
	prefix, delim, startAfter := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after")
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		return s3Errorf(http.StatusBadRequest, "InvalidArgument", "Invalid Encoding Method specified in Request")
	}
	maxKeys := s3ListDefaultMaxKeys
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3Errorf(http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, s3ListDefaultMaxKeys)
	}
	after := startAfter
	if tok := q.Get("continuation-token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return s3Errorf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
		}
		after = string(b)
	}
	objs, err := s.store.list(bucket)
	if err != nil {
		return s3Errorf(http.StatusInternalServerError, "InternalError", "%v", err)
	}
	encode := func(v string) string {
		if enc == "url" {
			return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
		}
		return v
	}
	out := listObjectsV2XML{
		Xmlns: s3Namespace, Name: bucket, Prefix: encode(prefix), Delimiter: encode(delim), MaxKeys: maxKeys,
		ContinuationToken: q.Get("continuation-token"), StartAfter: encode(startAfter), EncodingType: enc,
	}
	last := ""
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, prefix) || (after != "" && o.Key <= after) {
			continue
		}
		entry, isPrefix := o.Key, false
		if delim != "" {
			if i := strings.Index(o.Key[len(prefix):], delim); i >= 0 {
				entry, isPrefix = o.Key[:len(prefix)+i+len(delim)], true
			}
		}
		if isPrefix && (entry == last || (after != "" && entry <= after)) {
			continue // this common prefix was already listed
		}
		if out.KeyCount >= maxKeys {
			out.IsTruncated = true
			break
		}
		if isPrefix {
			out.CommonPrefixes = append(out.CommonPrefixes, commonPrefixXML{encode(entry)})
		} else {
			out.Contents = append(out.Contents, listObjectXML{
				Key: encode(o.Key), LastModified: o.Modified.UTC().Format("2006-01-02T15:04:05.000Z"),
				ETag: s.store.etag(bucket, o), ChecksumAlgorithm: o.Meta.ChecksumAlg, Size: o.Size, StorageClass: "STANDARD",
			})
			if o.Meta.ChecksumAlg != "" {
				out.Contents[len(out.Contents)-1].ChecksumType = "FULL_OBJECT"
			}
		}
		out.KeyCount++
		last = entry
	}
	if out.IsTruncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
	}
	writeXML(w, http.StatusOK, out)
	return nil
}

var errMalformedChunk = errors.New("malformed aws-chunked body")

// chunkedReader decodes an aws-chunked body without chunk signatures:
// "<hex size>\r\n<bytes>\r\n" chunks, a zero-size chunk, then trailer
// lines ("name:value\r\n") and an empty line.
type chunkedReader struct {
	r         *bufio.Reader
	remaining int64
	done      bool
	trailers  http.Header
}

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{r: bufio.NewReader(r), trailers: http.Header{}}
}

func (c *chunkedReader) line() (string, error) {
	l, err := c.r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%w: %v", errMalformedChunk, err)
	}
	return strings.TrimRight(l, "\r\n"), nil
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	if c.remaining == 0 {
		l, err := c.line()
		if err != nil {
			return 0, err
		}
		size, ext, _ := strings.Cut(l, ";")
		if ext != "" {
			return 0, fmt.Errorf("%w: chunk signatures are not supported", errMalformedChunk)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: chunk size %q", errMalformedChunk, size)
		}
		if n == 0 {
			for {
				l, err := c.line()
				if err != nil {
					return 0, err
				}
				if l == "" {
					break
				}
				k, v, ok := strings.Cut(l, ":")
				if !ok {
					return 0, fmt.Errorf("%w: trailer %q", errMalformedChunk, l)
				}
				c.trailers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			c.done = true
			return 0, io.EOF
		}
		c.remaining = n
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.r.Read(p)
	c.remaining -= int64(n)
	if err == io.EOF {
		return n, fmt.Errorf("%w: body ends inside a chunk", errMalformedChunk)
	}
	if err != nil {
		return n, err
	}
	if c.remaining == 0 {
		if l, err := c.line(); err != nil || l != "" {
			return n, fmt.Errorf("%w: chunk not followed by CRLF", errMalformedChunk)
		}
	}
	return n, nil
}
