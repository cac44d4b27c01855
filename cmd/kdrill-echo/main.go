package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	saTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	saCAFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
	// shutdownGrace is how long in-flight requests get once the server stops
	// listening; with the drain delay it fits the pod's termination grace
	// period in workload.yaml.
	shutdownGrace = 10 * time.Second
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("kdrill-echo failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	port := flag.String("port", envOr("PORT", "8080"), "TCP port to listen on (env PORT)")
	drainDelay := flag.Duration("drain-delay", 5*time.Second,
		"after SIGTERM, keep serving this long (with /healthz failing) so kube-proxy stops sending traffic first")
	resolveName := flag.String("resolve", "", "resolve this name through the pod's DNS, print its addresses and exit (a cluster DNS check)")
	flag.Parse()
	if *resolveName != "" {
		return resolve(*resolveName)
	}
	if p, err := strconv.Atoi(*port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("invalid port %q", *port)
	}
	info := podInfo{Pod: envOr("POD_NAME", "unknown"), Node: envOr("NODE_NAME", "unknown")}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	var draining atomic.Bool
	zones := &zoneCache{}
	if err := startZoneRefresher(ctx, log, info.Node, zones); err != nil {
		// Still serve: the zone is a nice-to-have, the answers are not.
		log.Warn("zone lookup disabled, reporting unknown zone", "err", err)
	}

	srv := &http.Server{
		Addr:              net.JoinHostPort("", *port),
		Handler:           newHandler(info, zones.Get, time.Now, draining.Load),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", srv.Addr, "pod", info.Pod, "node", info.Node)

	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", srv.Addr, err)
	case <-ctx.Done():
	}
	// A terminating pod is still in kube-proxy's rules for a moment;
	// refusing connections now would show up as failed probes.
	draining.Store(true)
	log.Info("draining", "for", drainDelay.String())
	time.Sleep(*drainDelay)
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down server: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", srv.Addr, err)
	}
	return nil
}

// startZoneRefresher starts filling zones in the background until ctx ends.
func startZoneRefresher(ctx context.Context, log *slog.Logger, node string, zones *zoneCache) error {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return errors.New("KUBERNETES_SERVICE_HOST/PORT not set: not running in a pod")
	}
	if node == "" || node == "unknown" {
		return errors.New("NODE_NAME not set")
	}
	c, err := newNodeZoneClient(host, port, saTokenFile, saCAFile)
	if err != nil {
		return fmt.Errorf("create API client: %w", err)
	}
	r := &zoneRefresher{
		lookup:     func(ctx context.Context) (string, error) { return c.Zone(ctx, node) },
		cache:      zones,
		minBackoff: time.Second,
		maxBackoff: 30 * time.Second,
		refresh:    time.Minute,
		log:        log,
	}
	go r.run(ctx)
	return nil
}

// resolve prints the addresses of name, one a line, using the pure Go
// resolver (so /etc/resolv.conf, that is cluster DNS, is what answers).
func resolve(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := (&net.Resolver{PreferGo: true}).LookupHost(ctx, name)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", name, err)
	}
	for _, a := range addrs {
		fmt.Println(a)
	}
	return nil
}

// envOr returns the environment variable key, or def if it is empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
