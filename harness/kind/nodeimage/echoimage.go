package nodeimage

import (
	"context"
	"os"
	"path/filepath"
)

// BuildEchoImage builds the workload image kdrill/echo:v1 on its own (FROM
// scratch, from the source tree), for clusters whose node image does not
// carry it, such as kindest/node.
func BuildEchoImage(ctx context.Context, opts Options) (string, error) {
	b, err := newBuilder(opts, 1, true)
	if err != nil {
		return "", err
	}
	err = b.step(ctx, "image "+EchoImage, func(ctx context.Context) (bool, error) {
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
