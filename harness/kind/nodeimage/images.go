package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// component is one image preloaded into the node's containerd.
type component struct {
	refs  []string
	from  string            // "scratch" or an image
	files map[string]string // destination in image -> source file
	entry []string          // ENTRYPOINT, if any
}

// componentImages builds the control-plane, add-on and kdrill images with
// docker build and saves them to one archive for the node's containerd.
func (b *builder) componentImages(ctx context.Context, sum string, k kubeadmImages, runtime, k8sBin, etcdBin, corednsBin, ownBin string) (string, error) {
	bin := func(dir, name string) string { return filepath.Join(dir, name) }
	usrLocal := func(dir string, names ...string) map[string]string {
		m := map[string]string{}
		for _, n := range names {
			m["/usr/local/bin/"+n] = bin(dir, n)
		}
		return m
	}
	comps := []component{
		{refs: []string{k.apiserver}, from: "scratch", files: usrLocal(k8sBin, "kube-apiserver")},
		{refs: []string{k.controllerManager}, from: "scratch", files: usrLocal(k8sBin, "kube-controller-manager")},
		{refs: []string{k.scheduler}, from: "scratch", files: usrLocal(k8sBin, "kube-scheduler")},
		{refs: []string{k.proxy}, from: runtime, files: usrLocal(k8sBin, "kube-proxy")},
		{refs: []string{k.etcd}, from: "scratch", files: usrLocal(etcdBin, "etcd", "etcdctl", "etcdutl")},
		{refs: []string{k.coredns}, from: "scratch", files: map[string]string{"/coredns": bin(corednsBin, "coredns")}, entry: []string{"/coredns"}},
		{refs: uniq(sandboxPause, k.pause), from: "scratch", files: map[string]string{"/pause": bin(ownBin, "kdrill-pause")}, entry: []string{"/pause"}},
		{refs: []string{CNIImage}, from: runtime, files: usrLocal(ownBin, "kdrill-cni")},
		{refs: []string{EchoImage}, from: "scratch", files: map[string]string{"/kdrill-echo": bin(ownBin, "kdrill-echo")}, entry: []string{"/kdrill-echo"}},
	}
	var refs []string
	for _, c := range comps {
		if err := b.dockerBuild(ctx, c); err != nil {
			return "", fmt.Errorf("build image %s: %w", c.refs[0], err)
		}
		refs = append(refs, c.refs...)
	}
	tar := filepath.Join(b.cache, "tmp", "images-"+sum+".tar")
	if err := os.MkdirAll(filepath.Dir(tar), 0o755); err != nil {
		return "", err
	}
	if err := b.run(ctx, "", nil, nil, "docker", append([]string{"save", "-o", tar}, refs...)...); err != nil {
		return "", fmt.Errorf("save component images: %w", err)
	}
	return tar, nil
}

func uniq(refs ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// dockerBuild builds c from a generated Dockerfile; the binaries are copied
// into a fresh context folder.
func (b *builder) dockerBuild(ctx context.Context, c component) error {
	dir, err := os.MkdirTemp(filepath.Join(b.cache, "tmp"), "ctx-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", c.from)
	i := 0
	for _, dst := range sortedKeys(c.files) {
		data, err := os.ReadFile(c.files[dst])
		if err != nil {
			return err
		}
		name := fmt.Sprintf("f%d", i)
		i++
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(&df, "COPY %s %s\n", name, dst)
	}
	df.WriteString("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")
	if len(c.entry) > 0 {
		fmt.Fprintf(&df, "ENTRYPOINT [%q]\n", c.entry[0])
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		return err
	}
	args := []string{"build", "-q"}
	for _, r := range c.refs {
		args = append(args, "-t", r)
	}
	return b.run(ctx, "", nil, nil, "docker", append(args, dir)...)
}

// baseImage builds the node's base (systemd, containerd, kubelet units and
// kdrill's entrypoint) from the embedded context on top of the rootfs.
func (b *builder) baseImage(ctx context.Context, rootfs string) (string, bool, error) {
	h := newHash()
	fmt.Fprintln(h, rootfs)
	if err := hashAssets(h); err != nil {
		return "", false, err
	}
	ref := "kdrill/base:" + debianSuite + "-" + h.short()
	if b.imageExists(ctx, ref) {
		return ref, true, nil
	}
	dir, err := os.MkdirTemp(filepath.Join(b.cache, "tmp"), "base-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(dir)
	if err := writeAssets("assets/base", dir); err != nil {
		return "", false, err
	}
	if err := b.run(ctx, "", nil, nil, "docker", "build", "--build-arg", "ROOTFS="+rootfs, "-t", ref, dir); err != nil {
		return "", false, err
	}
	return ref, false, nil
}

// assemble starts the base image with containerd only, copies the node
// programs in, imports the component images into containerd's k8s.io
// namespace and commits the result as the node image.
func (b *builder) assemble(ctx context.Context, tag, base, componentTar string, k kubeadmImages, k8sBin, crictlBin, cniBin string) error {
	name := "kdrill-build-" + strings.NewReplacer("/", "-", ":", "-").Replace(tag)
	b.run(ctx, "", nil, nil, "docker", "rm", "-f", "-v", name) // a leftover of an interrupted build
	if err := b.run(ctx, "", nil, nil, "docker", "run", "-d", "--name", name, "--privileged",
		"--security-opt", "seccomp=unconfined", "--entrypoint", "sleep", base, "infinity"); err != nil {
		return fmt.Errorf("start build container: %w", err)
	}
	// The build container goes whatever happens; a fresh context, so that
	// an interrupt still removes it.
	defer b.run(context.Background(), "", nil, nil, "docker", "rm", "-f", "-v", name)

	exec := func(args ...string) error {
		return b.run(ctx, "", nil, nil, "docker", append([]string{"exec", name}, args...)...)
	}
	cp := func(src, dst string) error {
		return b.run(ctx, "", nil, nil, "docker", "cp", src, name+":"+dst)
	}
	for _, p := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := cp(filepath.Join(k8sBin, p), "/usr/bin/"+p); err != nil {
			return err
		}
	}
	if err := cp(filepath.Join(crictlBin, "crictl"), "/usr/local/bin/crictl"); err != nil {
		return err
	}
	if err := exec("mkdir", "-p", "/opt/cni/bin", "/kind/manifests"); err != nil {
		return err
	}
	if err := cp(cniBin+"/.", "/opt/cni/bin/"); err != nil {
		return err
	}
	if err := exec("rm", "-f", "/opt/cni/bin/.complete"); err != nil {
		return err
	}
	if err := exec("chmod", "0755", "/usr/bin/kubeadm", "/usr/bin/kubelet", "/usr/bin/kubectl", "/usr/local/bin/crictl"); err != nil {
		return err
	}
	manifest, err := DefaultCNIManifest()
	if err != nil {
		return err
	}
	if err := b.run(ctx, "", nil, bytes.NewReader(manifest), "docker", "exec", "-i", name, "sh", "-c", "cat > /kind/manifests/default-cni.yaml"); err != nil {
		return err
	}
	// kind reads the version from this one-line file.
	if err := b.run(ctx, "", nil, strings.NewReader(b.opts.KubernetesVersion+"\n"), "docker", "exec", "-i", name, "sh", "-c", "cat > /kind/version"); err != nil {
		return err
	}

	if err := b.run(ctx, "", nil, nil, "docker", "exec", "-d", name, "containerd"); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	if err := b.waitFor(ctx, 60*time.Second, func() error { return exec("ctr", "version") }); err != nil {
		return fmt.Errorf("containerd in the build container did not come up: %w", err)
	}
	f, err := os.Open(componentTar)
	if err != nil {
		return err
	}
	err = b.run(ctx, "", nil, f, "docker", "exec", "-i", name, "ctr", "-n", "k8s.io", "images", "import", "--all-platforms", "--no-unpack", "--digests", "-")
	f.Close()
	if err != nil {
		return fmt.Errorf("import images into the node's containerd: %w", err)
	}
	if err := b.checkRefs(ctx, name, k); err != nil {
		return err
	}
	if err := exec("pkill", "-x", "containerd"); err != nil {
		return fmt.Errorf("stop containerd: %w", err)
	}
	if err := b.waitFor(ctx, 30*time.Second, func() error {
		if exec("pidof", "containerd") == nil {
			return fmt.Errorf("containerd still running")
		}
		return nil
	}); err != nil {
		return err
	}
	if err := exec("sync"); err != nil {
		return err
	}
	return b.run(ctx, "", nil, nil, "docker", "commit",
		"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
		"--change", `CMD []`,
		name, tag)
}

// checkRefs fails unless every image kubeadm and kind will ask for is in
// the node's containerd under exactly that name.
func (b *builder) checkRefs(ctx context.Context, container string, k kubeadmImages) error {
	out, err := b.output(ctx, "", nil, nil, "docker", "exec", container, "ctr", "-n", "k8s.io", "images", "ls", "-q")
	if err != nil {
		return fmt.Errorf("list node images: %w", err)
	}
	have := map[string]bool{}
	for _, r := range strings.Fields(out) {
		have[r] = true
	}
	var missing []string
	for _, ref := range append(k.all(), sandboxPause, "docker.io/"+CNIImage, "docker.io/"+EchoImage) {
		if !have[ref] {
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("images missing from the node's containerd: %s (it has: %s)", strings.Join(missing, ", "), strings.Join(sortedRefs(strings.Fields(out)), ", "))
	}
	return nil
}

// verify checks the committed image carries the files kind reads at
// cluster creation.
func (b *builder) verify(ctx context.Context, tag string) error {
	out, err := b.output(ctx, "", nil, nil, "docker", "run", "--rm", "--entrypoint", "cat", tag, "/kind/version")
	if err != nil {
		return fmt.Errorf("read /kind/version: %w", err)
	}
	if strings.TrimSpace(out) != b.opts.KubernetesVersion {
		return fmt.Errorf("/kind/version says %q, want %q", strings.TrimSpace(out), b.opts.KubernetesVersion)
	}
	return nil
}

// waitFor polls check every half second until it succeeds or d passes.
func (b *builder) waitFor(ctx context.Context, d time.Duration, check func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
