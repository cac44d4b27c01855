package nodeimage

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSemver(t *testing.T) {
	tests := []struct {
		in                  string
		major, minor, patch int
		ok                  bool
	}{
		{"v1.35.4", 1, 35, 4, true},
		{"v1.36.0", 1, 36, 0, true},
		{"1.35.4", 0, 0, 0, false},
		{"v1.35", 0, 0, 0, false},
		{"v1.35.x", 0, 0, 0, false},
		{"v1.35.4-rc.0", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		ma, mi, pa, ok := parseSemver(tt.in)
		if ok != tt.ok || ma != tt.major || mi != tt.minor || pa != tt.patch {
			t.Errorf("parseSemver(%q) = %d, %d, %d, %v", tt.in, ma, mi, pa, ok)
		}
	}
}

func TestStagingModules(t *testing.T) {
	gomod := filepath.Join(t.TempDir(), "go.mod")
	os.WriteFile(gomod, []byte(`module k8s.io/kubernetes

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	github.com/x/y => github.com/x/y v1.0.0
)

replace k8s.io/kubelet => ./staging/src/k8s.io/kubelet
`), 0o644)
	got, err := stagingModules(gomod)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"k8s.io/api", "k8s.io/client-go", "k8s.io/kubelet"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stagingModules = %v, want %v", got, want)
	}

	os.WriteFile(gomod, []byte("module x\n"), 0o644)
	if _, err := stagingModules(gomod); err == nil {
		t.Error("a go.mod without staging replaces: want an error")
	}
}

func TestKubeadmImageVersions(t *testing.T) {
	k := kubeadmImages{etcd: "registry.k8s.io/etcd:3.6.6-0", coredns: "registry.k8s.io/coredns/coredns:v1.13.1"}
	if got := k.etcdVersion(); got != "v3.6.6" {
		t.Errorf("etcdVersion = %q", got)
	}
	if got := k.corednsVersion(); got != "v1.13.1" {
		t.Errorf("corednsVersion = %q", got)
	}
}

func TestHostDebianMirror(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"deb822", map[string]string{"sources.list.d/debian.sources": "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"}, "http://mirror.example/debian"},
		{"one-line", map[string]string{"sources.list": "# comment\ndeb [arch=amd64] http://m.example/debian/ bookworm main\n"}, "http://m.example/debian/"},
		{"other repos only", map[string]string{"sources.list.d/x.list": "deb https://packages.example/apt stable main\n"}, ""},
		{"disabled files ignored", map[string]string{"sources.list.d/a.sources.disabled": "URIs: http://x.example/debian\n"}, ""},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755)
			for name, body := range tt.files {
				os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
			}
			if got := hostDebianMirror(dir); got != tt.want {
				t.Errorf("hostDebianMirror = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGoProgramKeyChangesWithSpec(t *testing.T) {
	a := etcdProgram("v3.6.6")
	b := etcdProgram("v3.6.7")
	if a.key() == b.key() {
		t.Error("different etcd versions share a cache key")
	}
	if a.key() != etcdProgram("v3.6.6").key() {
		t.Error("the same spec gives different keys")
	}
}

func TestAssets(t *testing.T) {
	manifest, err := DefaultCNIManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"would you kindly template this file", "{{ .PodSubnet }}", CNIImage, "imagePullPolicy: Never"} {
		if !strings.Contains(string(manifest), want) {
			t.Errorf("default-cni.yaml lacks %q", want)
		}
	}
	dir := t.TempDir()
	if err := writeAssets("assets/base", dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "files/usr/local/bin/entrypoint"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o111 == 0 {
		t.Errorf("entrypoint mode %v: not executable", st.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		t.Error(err)
	}
}

func TestStepErrorTail(t *testing.T) {
	log := filepath.Join(t.TempDir(), "step.log")
	os.WriteFile(log, []byte("a\nb\nc\nd\n"), 0o644)
	e := &StepError{Step: "build etcd", Log: log, Err: os.ErrNotExist}
	if got := e.Tail(2); got != "c\nd" {
		t.Errorf("Tail(2) = %q", got)
	}
	if !strings.Contains(e.Error(), `"build etcd"`) || !strings.Contains(e.Error(), log) {
		t.Errorf("Error() = %q: want the step and its log", e.Error())
	}
}
