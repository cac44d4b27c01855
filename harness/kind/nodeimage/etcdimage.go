package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// EtcdImage builds, or reuses, a standalone etcd image tagged
// kdrill/etcd:<version> (etcd, etcdctl and etcdutl in /usr/local/bin, FROM
// scratch) from the same cached Go build the node image uses. Integration
// tests run real etcd servers from it.
func EtcdImage(ctx context.Context, opts Options, version string) (string, error) {
	if _, _, _, ok := parseSemver(version); !ok {
		return "", &UserError{Msg: fmt.Sprintf("etcd version %q is not of the form vX.Y.Z", version)}
	}
	b, err := newBuilder(opts, 2, false)
	if err != nil {
		return "", err
	}
	ref := "kdrill/etcd:" + version
	var bin string
	if err := b.step(ctx, "build etcd "+version, func(ctx context.Context) (bool, error) {
		dir, cached, err := b.buildGo(ctx, etcdProgram(version))
		bin = dir
		return cached, err
	}); err != nil {
		return "", err
	}
	err = b.step(ctx, "image "+ref, func(ctx context.Context) (bool, error) {
		if err := os.MkdirAll(filepath.Join(b.cache, "tmp"), 0o755); err != nil {
			return false, err
		}
		files := map[string]string{}
		for _, p := range []string{"etcd", "etcdctl", "etcdutl"} {
			files["/usr/local/bin/"+p] = filepath.Join(bin, p)
		}
		// docker build reuses its layer cache when the binaries are unchanged.
		return false, b.dockerBuild(ctx, component{refs: []string{ref}, from: "scratch", files: files, entry: []string{"/usr/local/bin/etcd"}})
	})
	return ref, err
}

// DefaultEtcdVersion is the etcd that kubeadm for DefaultKubernetesVersion
// runs; tests use it so they exercise the same server the clusters do.
const DefaultEtcdVersion = "v3.6.6"
