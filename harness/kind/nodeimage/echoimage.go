package nodeimage

import (
	"context"
	"io"
	"os"
	"path/filepath"
)

// BuildEchoImage builds the workload image kdrill/echo:v1 on its own (FROM
// scratch, from the source tree), for clusters whose node image does not
// carry it, such as kindest/node.
func BuildEchoImage(ctx context.Context, opts Options) (string, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.SourceDir == "" {
		dir, err := FindSourceDir()
		if err != nil {
			return "", err
		}
		opts.SourceDir = dir
	}
	b := &builder{
		stepper: stepper{out: opts.Progress, logDir: filepath.Join(opts.CacheDir, "logs"), total: 1},
		opts:    opts,
		cache:   opts.CacheDir,
	}
	err := b.step(ctx, "image "+EchoImage, func(ctx context.Context) (bool, error) {
		bin, err := b.buildOwn(ctx)
		if err != nil {
			return false, err
		}
		if err := os.MkdirAll(filepath.Join(b.cache, "tmp"), 0o755); err != nil {
			return false, err
		}
		return false, b.dockerBuild(ctx, component{refs: []string{EchoImage}, from: "scratch",
			files: map[string]string{"/kdrill-echo": filepath.Join(bin, "kdrill-echo")}, entry: []string{"/kdrill-echo"}})
	})
	return EchoImage, err
}
