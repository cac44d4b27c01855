package awslocal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kdrill/kdrill/harness/clock"
)

// Defaults for Options.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
	// DefaultFirewallInterval is how often enforced network ACLs are
	// checked on machines that may have rebooted.
	DefaultFirewallInterval = 2 * time.Second
)

// maxSkew is how far a signed request's time may be from the server's, as
// on AWS.
const maxSkew = 15 * time.Minute

// maxRPCBody bounds the body of EC2, CloudWatch and SSM requests.
const maxRPCBody = 16 << 20

// Options configure a Server.
type Options struct {
	// Backend runs the instances. Required.
	Backend Backend
	// Region is the one region the server is; requests signed for another
	// are refused. DefaultRegion when empty.
	Region string
	// AccessKeyID and SecretAccessKey are the one credential the server
	// accepts. Required.
	AccessKeyID     string
	SecretAccessKey string
	// AccountID owns every resource; DefaultAccountID when empty.
	AccountID string
	// S3Dir is the folder holding S3's buckets, one subfolder each. When
	// empty the server makes a temporary folder and Close removes it.
	S3Dir string
	// TimeScale speeds up CloudWatch alarms: an alarm period of p lasts
	// p/TimeScale. 1 (real time) when zero.
	TimeScale float64
	// Clock drives alarm evaluation and the times the APIs report; the
	// real clock when nil.
	Clock clock.Clock
	// FirewallInterval is how often enforced network ACLs are re-applied to
	// machines that rebooted; DefaultFirewallInterval when zero.
	FirewallInterval time.Duration
	// Logger receives what the server does on its own (alarm transitions
	// and actions, background failures); nothing is logged when nil.
	Logger *slog.Logger
}

// Server is the AWS stand-in: an http.Handler serving EC2, CloudWatch, SSM
// and S3 on one endpoint. Make one with New and Close it when done.
type Server struct {
	o      Options
	log    *slog.Logger
	clock  clock.Clock
	ctx    context.Context // ends with Close; background work runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	tmpS3  bool
	store  *objectStore

	mu     sync.Mutex
	closed bool
	insts  map[string]*instRecord
	// toldWhyDown holds the instances whose down machine was explained
	// in the log.
	toldWhyDown map[string]bool
	subnets     map[string]*subnet // by zone
	alarms      map[string]*alarm
	history     []historyItem // oldest first, at most maxHistory
	histSeq     int64         // the last history item's seq
	commands    map[string]*command
	cmdOrder    []string

	fwMu sync.Mutex // one firewall reconciliation at a time

	runMu     sync.Mutex          // one RunInstances at a time
	runTokens map[string][]string // RunInstances ClientToken → instance ids

	// evaluated, when set (by tests, before any alarm exists), is called
	// after each alarm evaluation.
	evaluated func(alarm string)
}

// New checks o and starts a server. Its background work (instance state
// changes, alarm evaluation, commands, firewall upkeep) runs until Close.
func New(o Options) (*Server, error) {
	if o.Backend == nil {
		return nil, errors.New("awslocal: no backend")
	}
	if o.AccessKeyID == "" || o.SecretAccessKey == "" {
		return nil, errors.New("awslocal: an access key id and secret are required")
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if o.TimeScale < 0 {
		return nil, fmt.Errorf("awslocal: negative time scale %v", o.TimeScale)
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.FirewallInterval <= 0 {
		o.FirewallInterval = DefaultFirewallInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		o:         o,
		log:       log,
		clock:     o.Clock,
		insts:     map[string]*instRecord{},
		subnets:   map[string]*subnet{},
		alarms:    map[string]*alarm{},
		commands:  map[string]*command{},
		runTokens: map[string][]string{},
	}
	if o.S3Dir == "" {
		dir, err := os.MkdirTemp("", "awslocal-s3-")
		if err != nil {
			return nil, fmt.Errorf("awslocal: make S3 folder: %w", err)
		}
		s.o.S3Dir, s.tmpS3 = dir, true
	}
	store, err := newObjectStore(s.o.S3Dir)
	if err != nil {
		return nil, err
	}
	s.store = store
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Learn the machines now: one first seen running is meant to run, so a
	// later crash shows as a failed status check rather than a stop.
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	if _, err := s.refresh(ctx); err != nil {
		log.Warn("list instances at start", "err", err)
	}
	cancel()
	s.mu.Lock()
	s.goLocked(s.firewallLoop)
	s.mu.Unlock()
	return s, nil
}

// Region is the region the server answers for.
func (s *Server) Region() string { return s.o.Region }

// S3Dir is the folder holding the buckets.
func (s *Server) S3Dir() string { return s.o.S3Dir }

// Close stops alarm evaluation and background work, waits for commands and
// instance operations in flight to end, removes the firewall rules the
// server put on machines (its network ACLs die with it), and removes a
// temporary S3 folder.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.clearFirewall(ctx)
	if s.tmpS3 {
		if rmErr := os.RemoveAll(s.o.S3Dir); rmErr != nil && err == nil {
			err = rmErr
		}
	}
	return err
}

// goLocked runs f until the server closes; Close waits for it. s.mu is
// held, so that a closing server starts nothing new.
func (s *Server) goLocked(f func(ctx context.Context)) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// ServeHTTP routes a request to its service by the protocol's marks: SSM's
// X-Amz-Target header, CloudWatch's RPC v2 path, a form POST to / for EC2
// (or STS, by the service its signature names), and S3 for everything else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		s.serveSSM(w, r)
	case strings.HasPrefix(r.URL.Path, "/service/"):
		s.serveCloudWatch(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/" && isForm(r) && signedFor(r) == "sts":
		s.serveSTS(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/" && isForm(r):
		s.serveEC2(w, r)
	default:
		s.serveS3(w, r)
	}
}

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// readRPCBody reads a bounded request body and returns it with its SHA-256,
// the payload hash the client signed.
func readRPCBody(r *http.Request) ([]byte, string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRPCBody+1))
	if err != nil {
		return nil, "", err
	}
	if len(body) > maxRPCBody {
		return nil, "", fmt.Errorf("request body over %d bytes", maxRPCBody)
	}
	sum := sha256.Sum256(body)
	return body, hex.EncodeToString(sum[:]), nil
}

// newRequestID returns a fresh id in the UUID shape AWS uses.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// shortID derives a stable EC2-style id: prefix, dash, 17 hex digits of the
// SHA-256 of the parts.
func shortID(prefix string, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + "-" + hex.EncodeToString(h[:])[:17]
}

// now is the server's time, to the millisecond as AWS reports it.
func (s *Server) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }
