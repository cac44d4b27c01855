package awslocal

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// authKind says why a request's signature was refused; each protocol turns
// it into its own error code.
type authKind int

const (
	authMissing   authKind = iota + 1 // no signature at all
	authMalformed                     // a signature that cannot be parsed, or a wrong scope
	authUnknownKey
	authMismatch
	authExpired // too far from the server's time, or a presigned URL past its expiry
)

type authError struct {
	kind authKind
	msg  string
}

func (e *authError) Error() string { return e.msg }

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
)

// sigParams are the parts of a SigV4 signature, from the Authorization
// header or a presigned URL's query.
type sigParams struct {
	accessKey, date, region, service string
	signedHeaders                    string
	signature                        string
	when                             time.Time
	presigned                        bool
	expires                          time.Duration
}

// verify checks that r carries a SigV4 signature by the server's credential,
// for service in the server's region, over payloadHash. It recomputes the
// signature with the SDK's own signer over a copy of the request holding
// only the headers the client signed, so headers added in transit (by a
// proxy or the HTTP transport) do not matter, as on AWS.
func (s *Server) verify(r *http.Request, service, payloadHash string) *authError {
	p, aerr := parseSignature(r)
	if aerr != nil {
		return aerr
	}
	if p.accessKey != s.o.AccessKeyID {
		return &authError{authUnknownKey, "The security token included in the request is invalid."}
	}
	if p.date != p.when.Format("20060102") {
		return &authError{authMalformed, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'", p.date, p.when.Format("20060102"))}
	}
	if p.region != s.o.Region {
		return &authError{authMalformed, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'; this endpoint is '%s'.", p.region, s.o.Region)}
	}
	if p.service != service {
		return &authError{authMalformed, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)}
	}
	now := time.Now()
	if p.presigned {
		if now.After(p.when.Add(p.expires)) {
			return &authError{authExpired, "Request has expired"}
		}
		if p.when.Sub(now) > maxSkew {
			return &authError{authExpired, "Request is not valid yet"}
		}
	} else if d := now.Sub(p.when); d > maxSkew || d < -maxSkew {
		return &authError{authExpired, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", p.when.Format(amzDateFmt), now.UTC().Add(-maxSkew).Format(amzDateFmt), now.UTC().Format(amzDateFmt))}
	}

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	query := r.URL.RawQuery
	if p.presigned {
		q := r.URL.Query()
		q.Del("X-Amz-Signature")
		query = q.Encode()
	}
	req := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: query},
		Host:   r.Host,
		Header: http.Header{},
	}
	for _, h := range strings.Split(p.signedHeaders, ";") {
		switch h {
		case "host":
			continue
		case "content-length":
			req.ContentLength = r.ContentLength
			continue
		}
		vals := r.Header.Values(h)
		if vals == nil {
			return &authError{authMismatch, fmt.Sprintf("The request signature we calculated does not match the signature you provided: signed header %s is missing.", h)}
		}
		req.Header[textproto.CanonicalMIMEHeaderKey(h)] = vals
	}
	creds := aws.Credentials{AccessKeyID: s.o.AccessKeyID, SecretAccessKey: s.o.SecretAccessKey}
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		// S3 signs the path as sent; every other service escapes it again.
		o.DisableURIPathEscaping = service == "s3"
	})
	var gotHeaders, gotSig string
	if p.presigned {
		uri, _, err := signer.PresignHTTP(r.Context(), creds, req, payloadHash, service, p.region, p.when)
		if err != nil {
			return &authError{authMalformed, err.Error()}
		}
		u, err := url.Parse(uri)
		if err != nil {
			return &authError{authMalformed, err.Error()}
		}
		gotHeaders, gotSig = u.Query().Get("X-Amz-SignedHeaders"), u.Query().Get("X-Amz-Signature")
	} else {
		if err := signer.SignHTTP(r.Context(), creds, req, payloadHash, service, p.region, p.when); err != nil {
			return &authError{authMalformed, err.Error()}
		}
		mine, err := parseAuthorization(req.Header.Get("Authorization"))
		if err != nil {
			return &authError{authMalformed, err.Error()}
		}
		gotHeaders, gotSig = mine.signedHeaders, mine.signature
	}
	if gotHeaders != p.signedHeaders || subtle.ConstantTimeCompare([]byte(gotSig), []byte(p.signature)) != 1 {
		return &authError{authMismatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return nil
}

// parseSignature finds the signature in the Authorization header or, for a
// presigned URL, in the query.
func parseSignature(r *http.Request) (sigParams, *authError) {
	q := r.URL.Query()
	if auth := r.Header.Get("Authorization"); auth != "" {
		p, err := parseAuthorization(auth)
		if err != nil {
			return p, &authError{authMalformed, err.Error()}
		}
		date := r.Header.Get("X-Amz-Date")
		if date == "" {
			return p, &authError{authMalformed, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
		}
		if p.when, err = time.Parse(amzDateFmt, date); err != nil {
			return p, &authError{authMalformed, fmt.Sprintf("X-Amz-Date %q is not a date in the form %s", date, amzDateFmt)}
		}
		return p, nil
	}
	if q.Get("X-Amz-Signature") == "" {
		return sigParams{}, &authError{authMissing, "Request is missing Authentication Token"}
	}
	p := sigParams{presigned: true, signedHeaders: q.Get("X-Amz-SignedHeaders"), signature: q.Get("X-Amz-Signature")}
	if alg := q.Get("X-Amz-Algorithm"); alg != sigAlgorithm {
		return p, &authError{authMalformed, fmt.Sprintf("X-Amz-Algorithm only supports %q", sigAlgorithm)}
	}
	if err := p.setCredential(q.Get("X-Amz-Credential")); err != nil {
		return p, &authError{authMalformed, err.Error()}
	}
	var err error
	if p.when, err = time.Parse(amzDateFmt, q.Get("X-Amz-Date")); err != nil {
		return p, &authError{authMalformed, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""}
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || secs > 7*24*3600 {
		return p, &authError{authMalformed, "X-Amz-Expires must be a number of seconds between 1 and 604800"}
	}
	p.expires = time.Duration(secs) * time.Second
	return p, nil
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
func parseAuthorization(h string) (sigParams, error) {
	var p sigParams
	alg, rest, _ := strings.Cut(h, " ")
	if alg != sigAlgorithm {
		return p, fmt.Errorf("Authorization header: unsupported algorithm %q; only %s is", alg, sigAlgorithm)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return p, fmt.Errorf("Authorization header: %q is not key=value", part)
		}
		switch k {
		case "Credential":
			if err := p.setCredential(v); err != nil {
				return p, err
			}
		case "SignedHeaders":
			p.signedHeaders = v
		case "Signature":
			p.signature = v
		}
	}
	if p.accessKey == "" || p.signedHeaders == "" || p.signature == "" {
		return p, fmt.Errorf("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'")
	}
	return p, nil
}

// setCredential reads "AKID/20240101/us-east-1/ec2/aws4_request".
func (p *sigParams) setCredential(c string) error {
	f := strings.Split(c, "/")
	if len(f) != 5 || f[4] != "aws4_request" {
		return fmt.Errorf("Credential %q is not of the form <key>/<date>/<region>/<service>/aws4_request", c)
	}
	p.accessKey, p.date, p.region, p.service = f[0], f[1], f[2], f[3]
	return nil
}
