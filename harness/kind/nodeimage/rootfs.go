package nodeimage

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// rootfsSpec is a Debian root filesystem made by debootstrap.
type rootfsSpec struct {
	name     string
	packages []string
}

// nodeRootfs is what a kind node runs: systemd as PID 1, containerd, runc
// and the networking tools kubelet, kube-proxy and kind's scripts call.
var nodeRootfs = rootfsSpec{name: "node", packages: []string{
	"systemd", "systemd-sysv", "dbus", "conntrack", "iptables", "nftables",
	"iproute2", "ethtool", "util-linux", "mount", "kmod", "libseccomp2", "pigz",
	"e2fsprogs", "bash", "ca-certificates", "jq", "procps", "containerd", "runc",
	"curl",
}}

// runtimeRootfs is the small base of the images that need a shell or
// iptables: kube-proxy and the CNI agent.
var runtimeRootfs = rootfsSpec{name: "runtime", packages: []string{
	"iptables", "nftables", "conntrack", "iproute2", "ca-certificates", "kmod",
}}

func (r rootfsSpec) tag() string {
	h := sha256.Sum256([]byte(debianSuite + "\n" + strings.Join(r.packages, ",") + "\n" + goVersionTag))
	return fmt.Sprintf("kdrill/rootfs-%s:%s-%s", r.name, debianSuite, hex.EncodeToString(h[:])[:10])
}

// rootfsImage makes sure the root filesystem image exists, running
// debootstrap and docker import when it does not.
func (b *builder) rootfsImage(ctx context.Context, spec rootfsSpec, ref *string) (cached bool, err error) {
	*ref = spec.tag()
	if b.imageExists(ctx, *ref) {
		return true, nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return false, &UserError{Msg: "debootstrap is not installed; install it (apt-get install debootstrap, or make deps) or use --image with a ready node image"}
	}
	if os.Geteuid() != 0 {
		return false, &UserError{Msg: "debootstrap needs root to build the node's root filesystem; run the image build as root once (later builds reuse the cache)"}
	}
	dir := filepath.Join(b.cache, "tmp", "rootfs-"+spec.name)
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return false, err
	}
	args := []string{"--variant=minbase", "--include=" + strings.Join(spec.packages, ","), debianSuite, dir}
	if m := b.mirror(); m != "" {
		args = append(args, m)
	}
	if err := b.run(ctx, "", nil, nil, "debootstrap", args...); err != nil {
		return false, fmt.Errorf("debootstrap %s: %w", spec.name, err)
	}
	// Leave out what only grows the image, and the machine-id that each
	// node must make for itself.
	for _, p := range []string{"var/lib/apt/lists", "usr/share/doc", "usr/share/man", "var/cache/apt/archives"} {
		matches, _ := filepath.Glob(filepath.Join(dir, p, "*"))
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/machine-id"), nil, 0o444); err != nil {
		return false, err
	}
	script := fmt.Sprintf("set -o pipefail; tar --numeric-owner --xattrs -C %q -c . | docker import - %q", dir, *ref)
	if err := b.run(ctx, "", nil, nil, "bash", "-c", script); err != nil {
		return false, fmt.Errorf("import %s root filesystem: %w", spec.name, err)
	}
	return false, nil
}

// mirror is the Debian mirror for debootstrap: the option, else the first
// Debian source the host's apt uses, else debootstrap's own default.
func (b *builder) mirror() string {
	if b.opts.DebianMirror != "" {
		return b.opts.DebianMirror
	}
	return hostDebianMirror("/etc/apt")
}

// hostDebianMirror reads apt's sources (one-line and deb822 formats) and
// returns the first URI of the main Debian archive.
func hostDebianMirror(aptDir string) string {
	files := []string{filepath.Join(aptDir, "sources.list")}
	more, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*"))
	files = append(files, more...)
	for _, f := range files {
		if !strings.HasSuffix(f, ".list") && !strings.HasSuffix(f, ".sources") {
			continue
		}
		file, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			var uris []string
			switch {
			case strings.HasPrefix(line, "URIs:"):
				uris = strings.Fields(strings.TrimPrefix(line, "URIs:"))
			case strings.HasPrefix(line, "deb "):
				for _, f := range strings.Fields(line)[1:] {
					if strings.Contains(f, "://") {
						uris = append(uris, f)
						break
					}
				}
			}
			for _, u := range uris {
				if strings.HasSuffix(strings.TrimSuffix(u, "/"), "/debian") {
					file.Close()
					return u
				}
			}
		}
		file.Close()
	}
	return ""
}
