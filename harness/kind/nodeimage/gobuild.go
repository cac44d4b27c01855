package nodeimage

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// goProgram describes third-party programs built from one Go module at a
// pinned version. They are built inside a throwaway wrapper module that
// requires the target: that is what lets modules with replace directives in
// their own go.mod (Kubernetes, etcd) build with the ordinary module proxy.
type goProgram struct {
	name     string            // cache key, e.g. "kubernetes"
	require  map[string]string // module path -> version
	replace  map[string]string // module path -> version
	packages []string          // main packages to build
	mainGo   map[string]string // extra wrapper main packages: dir -> source
	ldflags  string
	tags     string
}

// key identifies the build's output; any change to the spec is a new key.
func (p goProgram) key() string {
	h := sha256.New()
	enc, _ := json.Marshal(struct {
		R, P map[string]string
		Pkgs []string
		M    map[string]string
		L, T string
		Go   string
		Arch string
	}{p.require, p.replace, p.packages, p.mainGo, p.ldflags, p.tags, goVersionTag, "amd64"})
	h.Write(enc)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// goVersionTag is part of every cache key so a new build recipe invalidates
// old outputs.
const goVersionTag = "recipe-1"

// buildGo builds p into its cache folder and returns that folder. A folder
// holding the completion stamp is reused as is.
func (b *builder) buildGo(ctx context.Context, p goProgram) (dir string, cached bool, err error) {
	out := filepath.Join(b.cache, "bin", p.name+"-"+p.key())
	stamp := filepath.Join(out, ".complete")
	if _, err := os.Stat(stamp); err == nil {
		return out, true, nil
	}
	mod := filepath.Join(b.cache, "gomod", p.name+"-"+p.key())
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", false, err
	}
	var gomod strings.Builder
	fmt.Fprintf(&gomod, "module kdrill.local/build/%s\n\ngo 1.25\n\n", p.name)
	for _, m := range sortedKeys(p.require) {
		fmt.Fprintf(&gomod, "require %s %s\n", m, p.require[m])
	}
	for _, m := range sortedKeys(p.replace) {
		fmt.Fprintf(&gomod, "replace %s => %s %s\n", m, m, p.replace[m])
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod.String()), 0o644); err != nil {
		return "", false, err
	}
	pkgs := append([]string(nil), p.packages...)
	for d, src := range p.mainGo {
		if err := os.MkdirAll(filepath.Join(mod, d), 0o755); err != nil {
			return "", false, err
		}
		if err := os.WriteFile(filepath.Join(mod, d, "main.go"), []byte(src), 0o644); err != nil {
			return "", false, err
		}
		pkgs = append(pkgs, "./"+d)
	}
	tmp := out + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", false, err
	}
	args := []string{"build", "-p", "2", "-trimpath", "-ldflags", "-s -w " + p.ldflags}
	if p.tags != "" {
		args = append(args, "-tags", p.tags)
	}
	args = append(args, "-o", tmp+"/")
	args = append(args, pkgs...)
	env := []string{"CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOOS=linux", "GOARCH=amd64"}
	if err := b.run(ctx, mod, env, nil, "go", args...); err != nil {
		return "", false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", false, err
	}
	os.RemoveAll(out)
	if err := os.Rename(tmp, out); err != nil {
		return "", false, err
	}
	return out, false, nil
}

// kubernetesProgram is the Kubernetes build: every staging module is
// replaced by its published v0.X.Y version, as the k8s.io/kubernetes module
// points them at folders that only exist in its repository.
func (b *builder) kubernetesProgram(ctx context.Context, version string) (goProgram, error) {
	gomodPath, err := b.downloadGoMod(ctx, "k8s.io/kubernetes", version)
	if err != nil {
		return goProgram{}, &UserError{Msg: fmt.Sprintf("Kubernetes %s is not available from the Go module proxy (%v); pick a published version such as %s", version, err, DefaultKubernetesVersion)}
	}
	staging, err := stagingModules(gomodPath)
	if err != nil {
		return goProgram{}, err
	}
	major, minor, patch, ok := parseSemver(version)
	if !ok {
		return goProgram{}, &UserError{Msg: fmt.Sprintf("Kubernetes version %q is not of the form vX.Y.Z", version)}
	}
	stagingVersion := fmt.Sprintf("v0.%d.%d", minor, patch)
	replace := map[string]string{}
	for _, m := range staging {
		replace[m] = stagingVersion
	}
	var ld []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld = append(ld,
			"-X "+pkg+".gitVersion="+version,
			fmt.Sprintf("-X %s.gitMajor=%d", pkg, major),
			fmt.Sprintf("-X %s.gitMinor=%d", pkg, minor),
			"-X "+pkg+".gitTreeState=clean",
			"-X "+pkg+".gitCommit=0000000000000000000000000000000000000000",
			"-X "+pkg+".buildDate=1970-01-01T00:00:00Z")
	}
	var pkgs []string
	for _, c := range kubernetesCommands {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+c)
	}
	return goProgram{
		name:     "kubernetes-" + version,
		require:  map[string]string{"k8s.io/kubernetes": version},
		replace:  replace,
		packages: pkgs,
		ldflags:  strings.Join(ld, " "),
		tags:     "selinux,notest",
	}, nil
}

// kubernetesCommands are the Kubernetes programs a node image needs.
var kubernetesCommands = []string{
	"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
	"kubelet", "kubeadm", "kubectl",
}

// downloadGoMod fetches a module's go.mod through the module proxy and
// returns its path in the module cache.
func (b *builder) downloadGoMod(ctx context.Context, module, version string) (string, error) {
	out, err := b.output(ctx, "", []string{"GOFLAGS=-mod=mod"}, nil, "go", "mod", "download", "-json", module+"@"+version)
	var info struct {
		GoMod string
		Error string
	}
	if jerr := json.Unmarshal([]byte(out), &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("%s", info.Error)
	}
	if err != nil {
		return "", err
	}
	if info.GoMod == "" {
		return "", fmt.Errorf("go mod download %s@%s gave no go.mod", module, version)
	}
	return info.GoMod, nil
}

// stagingModules lists the modules a k8s.io/kubernetes go.mod replaces with
// folders under ./staging.
func stagingModules(gomodPath string) ([]string, error) {
	f, err := os.Open(gomodPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mods []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "replace "))
		if len(fields) == 3 && fields[1] == "=>" && strings.HasPrefix(fields[2], "./staging/") {
			mods = append(mods, fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s names no staging modules", gomodPath)
	}
	return mods, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
