package nodeimage

import (
	"embed"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
)

// assets holds the base image's build context (assets/base) and the CNI
// manifest kind installs (assets/default-cni.yaml).
//
//go:embed all:assets
var assets embed.FS

// hashAssets feeds every embedded file, with its path, into h.
func hashAssets(h hash.Hash) error {
	return fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(data))
		h.Write(data)
		return nil
	})
}

// writeAssets copies the embedded tree under root (e.g. "assets/base") to dir.
// Scripts keep their executable bit: files under bin/ folders and the
// entrypoint are written 0755.
func writeAssets(root, dir string) error {
	return fs.WalkDir(assets, root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		target := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if isExecutable(data) {
			mode = 0o755
		}
		return os.WriteFile(target, data, mode)
	})
}

// isExecutable reports whether an embedded file is a script: embed keeps no
// file modes, so a shebang decides.
func isExecutable(data []byte) bool {
	return len(data) > 2 && data[0] == '#' && data[1] == '!'
}

// DefaultCNIManifest is the manifest kind applies as the cluster's CNI.
func DefaultCNIManifest() ([]byte, error) {
	return assets.ReadFile("assets/default-cni.yaml")
}
