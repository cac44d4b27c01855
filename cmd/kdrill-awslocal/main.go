package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kdrill/kdrill/harness/aws/awslocal"
)

// Exit codes, as kdrill's: 2 for a mistake in the flags.
const (
	exitFailed = 1
	exitUsage  = 2
)

// kindClusterLabel and kindRoleLabel are the labels kind puts on its node
// containers.
const (
	kindClusterLabel = "io.x-k8s.kind.cluster"
	kindRoleLabel    = "io.x-k8s.kind.role"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, log, os.Stderr))
}

// usageError is a mistake in the flags.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// multi is a repeatable flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// config is what the flags say.
type config struct {
	listen, region, key, secret, s3Dir string
	timeScale                          float64
	docker                             awslocal.DockerOptions
	kind                               string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var zones, tags, prefixes multi
	fs := flag.NewFlagSet("kdrill-awslocal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:4566", "address to serve on; containers reach the host at their network's gateway address, so listen there for presigned URLs used from inside them")
	fs.StringVar(&c.region, "region", awslocal.DefaultRegion, "the region the stand-in is")
	fs.StringVar(&c.key, "access-key-id", getenv("AWS_ACCESS_KEY_ID"), "the access key id requests must be signed with (env AWS_ACCESS_KEY_ID)")
	fs.StringVar(&c.secret, "secret-access-key", getenv("AWS_SECRET_ACCESS_KEY"), "its secret (env AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.s3Dir, "s3-dir", "", "folder holding S3's buckets; a temporary one, removed on exit, when empty")
	fs.Float64Var(&c.timeScale, "time-scale", 1, "speed-up of CloudWatch alarm periods: 60 makes a 60 s period last 1 s")
	fs.StringVar(&c.kind, "kind", "", "make the node containers of this kind cluster the instances: control planes in zone <region>a, workers in <region>b, tagged Name, kdrill/role, kdrill/node and kdrill/cluster")
	fs.StringVar(&c.docker.Label, "label", "", "instead of --kind: the Docker label (key or key=value) selecting the containers that are instances")
	fs.StringVar(&c.docker.Network, "network", "", "the Docker network of the instances (default: the first container's first network)")
	fs.StringVar(&c.docker.DefaultZone, "default-zone", "", "zone of containers no --zone names (default <region>a)")
	fs.Var(&zones, "zone", "container=zone, repeatable")
	fs.Var(&tags, "tag", "container:key=value, repeatable")
	fs.Var(&prefixes, "prefix", "container=CIDR, an address range of the container's (its pods), repeatable")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, &usageError{err.Error()}
	}
	switch {
	case fs.NArg() > 0:
		return c, &usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	case c.key == "" || c.secret == "":
		return c, &usageError{"no credential: pass --access-key-id and --secret-access-key or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}
	case (c.kind == "") == (c.docker.Label == ""):
		return c, &usageError{"pass exactly one of --kind and --label"}
	case c.timeScale <= 0:
		return c, &usageError{"--time-scale must be positive"}
	}
	if c.docker.DefaultZone == "" {
		c.docker.DefaultZone = c.region + "a"
	}
	c.docker.Zones, c.docker.Tags, c.docker.Prefixes = map[string]string{}, map[string]map[string]string{}, map[string][]string{}
	for _, z := range zones {
		name, zone, ok := strings.Cut(z, "=")
		if !ok || name == "" || zone == "" {
			return c, &usageError{fmt.Sprintf("--zone %q is not container=zone", z)}
		}
		c.docker.Zones[name] = zone
	}
	for _, tg := range tags {
		name, kv, ok1 := strings.Cut(tg, ":")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok1 || !ok2 || name == "" || k == "" {
			return c, &usageError{fmt.Sprintf("--tag %q is not container:key=value", tg)}
		}
		if c.docker.Tags[name] == nil {
			c.docker.Tags[name] = map[string]string{}
		}
		c.docker.Tags[name][k] = v
	}
	for _, p := range prefixes {
		name, cidr, ok := strings.Cut(p, "=")
		if !ok || name == "" || cidr == "" {
			return c, &usageError{fmt.Sprintf("--prefix %q is not container=CIDR", p)}
		}
		c.docker.Prefixes[name] = append(c.docker.Prefixes[name], cidr)
	}
	return c, nil
}

// kindNodes fills the backend's options for a kind cluster from its node
// containers' labels. Flags given explicitly win.
func kindNodes(ctx context.Context, c *config) error {
	c.docker.Label = kindClusterLabel + "=" + c.kind
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--filter", "label="+c.docker.Label,
		"--format", `{{.Names}}	{{.Label "`+kindRoleLabel+`"}}`).Output()
	if err != nil {
		return fmt.Errorf("list the nodes of kind cluster %s: %w", c.kind, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return &usageError{fmt.Sprintf("kind cluster %q has no node containers; bring it up first", c.kind)}
	}
	for _, l := range lines {
		name, role, _ := strings.Cut(l, "\t")
		zone, kdRole := c.region+"b", "worker"
		if role == "control-plane" {
			zone, kdRole = c.region+"a", "control-plane"
		}
		if _, set := c.docker.Zones[name]; !set {
			c.docker.Zones[name] = zone
		}
		tags := map[string]string{"Name": name, "kdrill/role": kdRole, "kdrill/node": name, "kdrill/cluster": c.kind}
		for k, v := range c.docker.Tags[name] {
			tags[k] = v
		}
		c.docker.Tags[name] = tags
	}
	if c.docker.Network == "" {
		c.docker.Network = "kind"
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger, stderr io.Writer) int {
	c, err := parse(args, getenv, stderr)
	if err == nil && c.kind != "" {
		err = kindNodes(ctx, &c)
	}
	var ue *usageError
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "kdrill-awslocal:", err)
		return exitUsage
	}
	if err != nil {
		log.Error("kdrill-awslocal failed", "err", err)
		return exitFailed
	}
	if err := serve(ctx, c, log); err != nil {
		log.Error("kdrill-awslocal failed", "err", err)
		return exitFailed
	}
	return 0
}

func serve(ctx context.Context, c config, log *slog.Logger) error {
	backend, err := awslocal.NewDockerBackend(ctx, c.docker)
	if err != nil {
		return err
	}
	srv, err := awslocal.New(awslocal.Options{
		Backend: backend, Region: c.region, AccessKeyID: c.key, SecretAccessKey: c.secret,
		S3Dir: c.s3Dir, TimeScale: c.timeScale, Logger: log,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Error("close", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("serving the AWS stand-in (never a real account)", "endpoint", "http://"+ln.Addr().String(), "region", c.region,
		"instances", c.docker.Label, "s3", srv.S3Dir(), "time-scale", c.timeScale)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}
