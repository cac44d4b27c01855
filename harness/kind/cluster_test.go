package kind

import (
	"net"
	"strings"
	"testing"
)

func TestConfigTopology(t *testing.T) {
	cfg := Config("/state/etcd", []int{31000, 31001})
	if len(cfg.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(cfg.Nodes))
	}
	cp := cfg.Nodes[0]
	if cp.Role != "control-plane" || cp.Labels[ZoneLabel] != ControlPlaneZone {
		t.Errorf("first node %+v: want the control plane in %s", cp, ControlPlaneZone)
	}
	if len(cp.ExtraMounts) != 1 || cp.ExtraMounts[0].HostPath != "/state/etcd" || cp.ExtraMounts[0].ContainerPath != EtcdDataDir {
		t.Errorf("control-plane mounts %+v: want etcd's data dir on the host", cp.ExtraMounts)
	}
	for i, w := range cfg.Nodes[1:] {
		if w.Role != "worker" || w.Labels[ZoneLabel] != WorkerZone {
			t.Errorf("worker %d %+v: want a worker in %s", i, w, WorkerZone)
		}
		pm := w.ExtraPortMappings
		if len(pm) != 1 || pm[0].ListenAddress != "127.0.0.1" || pm[0].ContainerPort != WorkloadNodePort || int(pm[0].HostPort) != 31000+i {
			t.Errorf("worker %d port mappings %+v", i, pm)
		}
	}
	if len(cfg.KubeadmConfigPatches) == 0 || !strings.Contains(cfg.KubeadmConfigPatches[0], "failCgroupV1: false") {
		t.Errorf("kubeadm patches %q: want failCgroupV1: false", cfg.KubeadmConfigPatches)
	}
}

func TestPortFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if err := portFree(port); err == nil {
		t.Errorf("port %d is taken, portFree said free", port)
	}
	l.Close()
	if err := portFree(port); err != nil {
		t.Errorf("port %d was released: %v", port, err)
	}
}
