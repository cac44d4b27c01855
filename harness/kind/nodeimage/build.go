package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DefaultKubernetesVersion is the Kubernetes release kdrill builds and tests.
const DefaultKubernetesVersion = "v1.35.4"

// Pins of the components whose version kubeadm does not dictate.
const (
	crictlVersion     = "v1.34.0" // the newest cri-tools the module proxy serves for 1.35
	cniPluginsVersion = "v1.6.2"
	debianSuite       = "bookworm" // systemd 252 still runs under cgroup v1; trixie's does not
	// sandboxPause is the pause image the node's containerd config names.
	sandboxPause = "registry.k8s.io/pause:3.10"
)

// Image refs of kdrill's own images inside the node. The manifests that use
// them set imagePullPolicy: Never.
const (
	CNIImage  = "kdrill/cni:v1"
	EchoImage = "kdrill/echo:v1"
)

// UserError is a mistake in what the user asked for, as opposed to a failure
// of the build itself.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// Options configure Build.
type Options struct {
	// KubernetesVersion is the k8s.io/kubernetes module version, vX.Y.Z.
	KubernetesVersion string
	// CacheDir holds build outputs between runs; see DefaultCacheDir.
	CacheDir string
	// SourceDir is the root of the kdrill module, whose own programs (CNI
	// agent, echo workload, pause) go into the image.
	SourceDir string
	// DebianMirror is passed to debootstrap; empty means the host's apt
	// source, or debootstrap's default.
	DebianMirror string
	// Progress receives one line per step; nil discards.
	Progress io.Writer
}

// DefaultCacheDir is $KDRILL_CACHE_DIR, or kdrill under the user cache dir.
func DefaultCacheDir() string {
	if d := os.Getenv("KDRILL_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kdrill")
	}
	return filepath.Join(os.TempDir(), "kdrill-cache")
}

type builder struct {
	stepper
	opts  Options
	cache string
}

// Build assembles the node image and returns its tag,
// kdrill/node:<kubernetes version>-<content hash>. An image with that tag
// already present is reused.
func Build(ctx context.Context, opts Options) (string, error) {
	if opts.KubernetesVersion == "" {
		opts.KubernetesVersion = DefaultKubernetesVersion
	}
	if _, _, _, ok := parseSemver(opts.KubernetesVersion); !ok {
		return "", &UserError{Msg: fmt.Sprintf("Kubernetes version %q is not of the form vX.Y.Z (e.g. %s)", opts.KubernetesVersion, DefaultKubernetesVersion)}
	}
	for _, tool := range []string{"go", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", &UserError{Msg: fmt.Sprintf("%s is not installed; the node image build needs it (see README: make deps)", tool)}
		}
	}
	b, err := newBuilder(opts, 9, true)
	if err != nil {
		return "", err
	}
	return b.build(ctx)
}

// newBuilder fills in the options' defaults and returns a builder of steps
// steps; needSource finds kdrill's source tree when no folder is given.
func newBuilder(opts Options, steps int, needSource bool) (*builder, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if needSource && opts.SourceDir == "" {
		dir, err := FindSourceDir()
		if err != nil {
			return nil, err
		}
		opts.SourceDir = dir
	}
	return &builder{
		stepper: stepper{out: opts.Progress, logDir: filepath.Join(opts.CacheDir, "logs"), total: steps},
		opts:    opts,
		cache:   opts.CacheDir,
	}, nil
}

func (b *builder) build(ctx context.Context) (string, error) {
	kv := b.opts.KubernetesVersion
	var (
		k8sBin, etcdBin, corednsBin, crictlBin, cniBin, ownBin string
		images                                                 kubeadmImages
		rootfs, runtime                                        string
		tag                                                    string
	)
	if err := b.step(ctx, "check docker engine", func(ctx context.Context) (bool, error) {
		if err := b.run(ctx, "", nil, nil, "docker", "version", "--format", "{{.Server.Version}}"); err != nil {
			return false, &UserError{Msg: "no Docker engine answers; start one (make docker) and try again"}
		}
		return false, nil
	}); err != nil {
		return "", err
	}
	if err := b.step(ctx, "build Kubernetes "+kv, func(ctx context.Context) (bool, error) {
		prog, err := b.kubernetesProgram(ctx, kv)
		if err != nil {
			return false, err
		}
		dir, cached, err := b.buildGo(ctx, prog)
		k8sBin = dir
		if err != nil {
			return false, err
		}
		images, err = b.kubeadmImages(ctx, filepath.Join(dir, "kubeadm"), kv)
		return cached, err
	}); err != nil {
		return "", err
	}
	if err := b.step(ctx, fmt.Sprintf("build etcd %s, CoreDNS %s, crictl %s, CNI plugins %s", images.etcdVersion(), images.corednsVersion(), crictlVersion, cniPluginsVersion), func(ctx context.Context) (bool, error) {
		all := true
		for _, p := range []struct {
			prog goProgram
			dir  *string
		}{
			{etcdProgram(images.etcdVersion()), &etcdBin},
			{corednsProgram(images.corednsVersion()), &corednsBin},
			{crictlProgram(), &crictlBin},
			{cniProgram(), &cniBin},
		} {
			dir, cached, err := b.buildGo(ctx, p.prog)
			if err != nil {
				return false, err
			}
			*p.dir = dir
			all = all && cached
		}
		return all, nil
	}); err != nil {
		return "", err
	}
	if err := b.step(ctx, "build kdrill's node programs (CNI agent, echo, pause)", func(ctx context.Context) (bool, error) {
		var err error
		ownBin, err = b.buildOwn(ctx)
		return false, err
	}); err != nil {
		return "", err
	}
	if err := b.step(ctx, "Debian "+debianSuite+" root filesystems (debootstrap)", func(ctx context.Context) (bool, error) {
		c1, err := b.rootfsImage(ctx, nodeRootfs, &rootfs)
		if err != nil {
			return false, err
		}
		c2, err := b.rootfsImage(ctx, runtimeRootfs, &runtime)
		return c1 && c2, err
	}); err != nil {
		return "", err
	}

	// Everything below is named by a hash of everything above, so a warm
	// build stops here when the image is already present.
	sum, err := b.contentHash(images, rootfs, runtime, k8sBin, etcdBin, corednsBin, crictlBin, cniBin, ownBin)
	if err != nil {
		return "", err
	}
	tag = fmt.Sprintf("kdrill/node:%s-%s", kv, sum)
	if b.imageExists(ctx, tag) {
		b.stepper.total = b.stepper.n
		fmt.Fprintf(b.out, "node image %s is already built\n", tag)
		return tag, nil
	}

	var componentTar, base string
	if err := b.step(ctx, "component images", func(ctx context.Context) (bool, error) {
		var err error
		componentTar, err = b.componentImages(ctx, sum, images, runtime, k8sBin, etcdBin, corednsBin, ownBin)
		return false, err
	}); err != nil {
		return "", err
	}
	defer os.Remove(componentTar)
	if err := b.step(ctx, "base image", func(ctx context.Context) (bool, error) {
		var cached bool
		var err error
		base, cached, err = b.baseImage(ctx, rootfs)
		return cached, err
	}); err != nil {
		return "", err
	}
	if err := b.step(ctx, "assemble "+tag, func(ctx context.Context) (bool, error) {
		return false, b.assemble(ctx, tag, base, componentTar, images, k8sBin, crictlBin, cniBin)
	}); err != nil {
		return "", err
	}
	if err := b.step(ctx, "verify "+tag, func(ctx context.Context) (bool, error) {
		return false, b.verify(ctx, tag)
	}); err != nil {
		return "", err
	}
	return tag, nil
}

// contentHash names the node image by its inputs: versions, the base
// image's files, and the bytes of every program that goes into it.
func (b *builder) contentHash(images kubeadmImages, rootfs, runtime string, binDirs ...string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "recipe %s\n%s\n%s\n%s\n", goVersionTag, b.opts.KubernetesVersion, rootfs, runtime)
	for _, ref := range images.all() {
		fmt.Fprintln(h, ref)
	}
	if err := hashAssets(h); err != nil {
		return "", err
	}
	for _, dir := range binDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				return "", err
			}
			fmt.Fprintln(h, e.Name())
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:10], nil
}

func (b *builder) imageExists(ctx context.Context, ref string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", ref).Run() == nil
}

// kubeadmImages are the images kubeadm will ask the node's containerd for.
type kubeadmImages struct {
	apiserver, controllerManager, scheduler, proxy, etcd, coredns, pause string
}

func (k kubeadmImages) all() []string {
	return []string{k.apiserver, k.controllerManager, k.scheduler, k.proxy, k.etcd, k.coredns, k.pause}
}

// etcdVersion maps kubeadm's etcd tag (3.6.6-0) to the module version.
func (k kubeadmImages) etcdVersion() string {
	tag := imageTag(k.etcd)
	if i := strings.Index(tag, "-"); i > 0 {
		tag = tag[:i]
	}
	return "v" + strings.TrimPrefix(tag, "v")
}

func (k kubeadmImages) corednsVersion() string { return imageTag(k.coredns) }

func imageTag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > 0 {
		return ref[i+1:]
	}
	return ""
}

// kubeadmImages asks the freshly built kubeadm which images it expects, so
// the image names always match the Kubernetes version being built.
func (b *builder) kubeadmImages(ctx context.Context, kubeadm, version string) (kubeadmImages, error) {
	out, err := b.output(ctx, "", nil, nil, kubeadm, "config", "images", "list", "--kubernetes-version", version)
	if err != nil {
		return kubeadmImages{}, fmt.Errorf("list kubeadm images: %w", err)
	}
	var k kubeadmImages
	for _, ref := range strings.Fields(out) {
		i := strings.LastIndex(ref, ":")
		if i < 0 {
			continue // not an image reference; the completeness check below catches a bad list
		}
		switch filepath.Base(ref[:i]) {
		case "kube-apiserver":
			k.apiserver = ref
		case "kube-controller-manager":
			k.controllerManager = ref
		case "kube-scheduler":
			k.scheduler = ref
		case "kube-proxy":
			k.proxy = ref
		case "etcd":
			k.etcd = ref
		case "coredns":
			k.coredns = ref
		case "pause":
			k.pause = ref
		}
	}
	for _, ref := range k.all() {
		if ref == "" {
			return k, fmt.Errorf("kubeadm config images list gave an incomplete list:\n%s", out)
		}
	}
	return k, nil
}

func etcdProgram(version string) goProgram {
	return goProgram{
		name: "etcd-" + version,
		require: map[string]string{
			"go.etcd.io/etcd/server/v3":  version,
			"go.etcd.io/etcd/etcdctl/v3": version,
			"go.etcd.io/etcd/etcdutl/v3": version,
		},
		packages: []string{"go.etcd.io/etcd/etcdctl/v3", "go.etcd.io/etcd/etcdutl/v3"},
		mainGo: map[string]string{"etcd": `// Command etcd runs the etcd server.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`},
	}
}

func corednsProgram(version string) goProgram {
	return goProgram{
		name:     "coredns-" + version,
		require:  map[string]string{"github.com/coredns/coredns": version},
		packages: []string{"github.com/coredns/coredns"},
	}
}

func crictlProgram() goProgram {
	return goProgram{
		name:     "crictl-" + crictlVersion,
		require:  map[string]string{"sigs.k8s.io/cri-tools": crictlVersion},
		packages: []string{"sigs.k8s.io/cri-tools/cmd/crictl"},
	}
}

func cniProgram() goProgram {
	p := goProgram{
		name:    "cni-plugins-" + cniPluginsVersion,
		require: map[string]string{"github.com/containernetworking/plugins": cniPluginsVersion},
	}
	for _, pkg := range []string{"main/ptp", "main/bridge", "main/loopback", "ipam/host-local", "meta/portmap"} {
		p.packages = append(p.packages, "github.com/containernetworking/plugins/plugins/"+pkg)
	}
	return p
}

// buildOwn builds kdrill's own node programs from the source tree. They are
// rebuilt every time (seconds, from Go's build cache) and their bytes go
// into the image's content hash.
func (b *builder) buildOwn(ctx context.Context) (string, error) {
	out := filepath.Join(b.cache, "bin", "kdrill-own")
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}
	// -buildvcs=false: the commit id would change the bytes, and so the
	// image hash, on every commit even when the programs did not change.
	return out, b.run(ctx, b.opts.SourceDir, env, nil, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w",
		"-o", out+"/", "./cmd/kdrill-cni", "./cmd/kdrill-echo", "./cmd/kdrill-pause")
}

// FindSourceDir walks up from the working directory to the root of the
// kdrill module.
func FindSourceDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/kdrill/kdrill\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", &UserError{Msg: "the node image is built from kdrill's source tree: run from inside a kdrill checkout, or use --image with a ready node image"}
		}
		dir = parent
	}
}

func parseSemver(v string) (major, minor, patch int, ok bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if !strings.HasPrefix(v, "v") || len(parts) != 3 {
		return 0, 0, 0, false
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, 0, 0, false
		}
		nums[i] = n
	}
	return nums[0], nums[1], nums[2], true
}

// sortedRefs is used for stable output.
func sortedRefs(refs []string) []string {
	out := append([]string(nil), refs...)
	sort.Strings(out)
	return out
}
