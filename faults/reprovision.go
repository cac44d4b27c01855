package faults

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/etcdsnap"
)

// NodeReplacer is a target that can terminate a machine and launch a fresh
// one in its place, in a given zone (kind: a new node container; a cloud:
// an instance from the old one's launch template).
type NodeReplacer interface {
	// ReplaceNode terminates old's machine and launches a new one of the
	// same name in zone, at an address other than old's.
	ReplaceNode(ctx context.Context, old harness.Node, zone string) (harness.Node, error)
}

// controlPlaneFiles is what a kubeadm control-plane machine holds besides
// etcd's data and cannot be made again without the cluster changing
// identity: the CAs and every certificate, the kubeconfigs, the static-pod
// manifests and the kubelet's configuration and client certificate. The
// kubeadm configuration kind leaves in /kind comes along when present.
var controlPlaneFiles = []string{
	"etc/kubernetes",
	"var/lib/kubelet/config.yaml",
	"var/lib/kubelet/kubeadm-flags.env",
	"var/lib/kubelet/pki",
	"kind/kubeadm.conf",
}

// BackupControlPlane copies the control plane's certificates and
// configuration off node into a gzipped tar under dir and returns its path.
// With an etcd snapshot it is everything a fresh machine needs to become
// the same control plane.
func BackupControlPlane(ctx context.Context, t harness.Target, node, dir string) (string, error) {
	out, err := sh(ctx, t, node, ControlPlaneTarScript("-")+" | base64 -w0")
	if err != nil {
		return "", fmt.Errorf("back up the control plane's files: %w", err)
	}
	data, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(out)))
	if err != nil {
		return "", fmt.Errorf("back up the control plane's files: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("control-plane-%d.tar.gz", time.Now().UnixNano()))
	return path, os.WriteFile(path, data, 0o600)
}

// ControlPlaneTarScript is a shell script that writes the control plane's
// files (those BackupControlPlane keeps) as a gzipped tar to out, "-" for
// standard output. It must be the script's last command, or followed by a
// pipe; it sets shell variables named kdrill_*, so out must name none.
func ControlPlaneTarScript(out string) string {
	return "set -e; cd /; kdrill_files=; for kdrill_f in " + strings.Join(controlPlaneFiles, " ") +
		"; do if [ -e \"$kdrill_f\" ]; then kdrill_files=\"$kdrill_files $kdrill_f\"; fi; done; tar -czf " + out + " $kdrill_files"
}

// ControlPlaneReprovisioner is a target that keeps the control plane's
// backups itself, beside etcd's (EtcdBackups: S3 on AWS), and launches and
// restores a replacement control plane itself. Its Reprovision's Backup
// and Snapshot are ids of those backups.
type ControlPlaneReprovisioner interface {
	EtcdBackups
	BackupControlPlaneFiles(ctx context.Context, node string) (string, error)
	ReprovisionControlPlane(ctx context.Context, r Reprovision) (harness.Node, error)
}

// Reprovision says how to bring a control plane back on a fresh machine.
type Reprovision struct {
	// Old is the control-plane node as it was before the fault, with its
	// addresses and zone; the new machine keeps its name.
	Old harness.Node
	// Zone is where the new machine goes: the workers' zone. A
	// ControlPlaneReprovisioner picks it itself, from where the workers are.
	Zone string
	// Backup is a BackupControlPlane file, Snapshot an etcd snapshot; for
	// a ControlPlaneReprovisioner, the ids of its own backups of them.
	Backup, Snapshot string
	// Step, if set, hears each step as it starts.
	Step func(what string)
}

// ReprovisionControlPlane is the seed's option 1 for a partitioned control
// plane: terminate the unreachable machine (it must be fenced off already),
// launch a fresh one in the workers' zone, restore etcd's data from the
// snapshot and the certificates and configuration from the backup, and
// start it. The machine keeps the control plane's name, which is how the
// workers reach it; its address is new, so every file naming the old
// address is rewritten and the certificates that carry it are reissued
// from the restored CAs. It returns the new machine. A target that is a
// ControlPlaneReprovisioner does all this itself, from its own backups.
func ReprovisionControlPlane(ctx context.Context, t harness.Target, r Reprovision) (harness.Node, error) {
	if rp, ok := t.(ControlPlaneReprovisioner); ok {
		return rp.ReprovisionControlPlane(ctx, r)
	}
	step := r.Step
	if step == nil {
		step = func(string) {}
	}
	rep, ok := t.(NodeReplacer)
	if !ok {
		return harness.Node{}, fmt.Errorf("this target cannot launch machines")
	}
	vol, ok := t.(EtcdVolume)
	if !ok {
		return harness.Node{}, fmt.Errorf("this target gives no access to etcd's data folder")
	}
	tarball, err := os.ReadFile(r.Backup)
	if err != nil {
		return harness.Node{}, fmt.Errorf("read the control-plane backup: %w", err)
	}
	old, node := r.Old, r.Old.Name

	step("launch a fresh control-plane machine in " + r.Zone)
	fresh, err := rep.ReplaceNode(ctx, old, r.Zone)
	if err != nil {
		return harness.Node{}, err
	}
	if fresh.Address == "" {
		return fresh, fmt.Errorf("the new %s has no address", node)
	}

	step("restore etcd's data from " + filepath.Base(r.Snapshot))
	peer := "https://" + fresh.Address + ":2380"
	if _, err := etcdsnap.Restore(ctx, r.Snapshot, etcdsnap.RestoreOptions{
		DataDir:        filepath.Join(vol.EtcdDataDir(), "restore"),
		Name:           node,
		PeerURLs:       []string{peer},
		InitialCluster: node + "=" + peer,
		RevisionBump:   1_000_000,
	}); err != nil {
		return fresh, fmt.Errorf("restore %s: %w", r.Snapshot, err)
	}
	if err := os.Rename(filepath.Join(vol.EtcdDataDir(), "restore", "member"), filepath.Join(vol.EtcdDataDir(), "member")); err != nil {
		return fresh, fmt.Errorf("move the restored data in place: %w", err)
	}
	os.RemoveAll(filepath.Join(vol.EtcdDataDir(), "restore"))

	step("wait for the new machine to boot")
	if err := waitNode(ctx, t, node, 2*time.Minute, "the new machine's container runtime", "crictl info >/dev/null 2>&1"); err != nil {
		return fresh, err
	}

	step("copy the certificates and configuration onto it")
	const staged = "/tmp/kdrill-control-plane.tar.gz.b64"
	enc := base64.StdEncoding.EncodeToString(tarball)
	if _, err := sh(ctx, t, node, "rm -f "+staged); err != nil {
		return fresh, err
	}
	for len(enc) > 0 {
		n := min(len(enc), 48*1024)
		if _, err := sh(ctx, t, node, fmt.Sprintf("printf %%s '%s' >>%s", enc[:n], staged)); err != nil {
			return fresh, fmt.Errorf("copy the backup onto %s: %w", node, err)
		}
		enc = enc[n:]
	}

	step("rewrite the old address, reissue its certificates and start the kubelet")
	if _, err := sh(ctx, t, node, ControlPlaneRestoreScript("base64 -d "+staged+" | tar -xzf - && rm -f "+staged, old, fresh, old.Zone, r.Zone, "/etc/kubernetes/manifests")); err != nil {
		return fresh, fmt.Errorf("restore the control plane's files on %s: %w", node, err)
	}
	return fresh, nil
}

// ControlPlaneRestoreScript is a shell script that restores the control
// plane's files on a fresh machine: unpack, a shell command run in an
// empty folder, writes the files of a ControlPlaneTarScript tarball there.
// It rewrites the old machine's addresses and zone to the new ones,
// reissues the certificates that name an address (the API server's, etcd's
// serving and peer ones) from the restored CAs, and only then puts the
// static-pod manifests into manifests and starts the kubelet. With
// manifests other than /etc/kubernetes/manifests, the kubelet starts no
// control-plane pod: etcd's data is restored next, and the manifests moved
// in place after it.
func ControlPlaneRestoreScript(unpack string, old, fresh harness.Node, oldZone, zone, manifests string) string {
	var rewrite []string
	for _, p := range [][2]string{{old.Address, fresh.Address}, {old.Address6, fresh.Address6}} {
		if p[0] == "" || p[1] == "" || p[0] == p[1] {
			continue
		}
		rewrite = append(rewrite, fmt.Sprintf(`-e 's#\b%s\b#%s#g'`, regexp.QuoteMeta(p[0]), p[1]))
	}
	if oldZone != "" && zone != "" && oldZone != zone {
		rewrite = append(rewrite, fmt.Sprintf(`-e 's#zone=%s\b#zone=%s#g'`, regexp.QuoteMeta(oldZone), zone))
	}
	sed := ":"
	if len(rewrite) > 0 {
		sed = "find etc/kubernetes kind var/lib/kubelet -type f \\( -name '*.yaml' -o -name '*.conf' -o -name '*.env' \\) -exec sed -i " + strings.Join(rewrite, " ") + " {} +"
	}
	return fmt.Sprintf(`set -e
rm -rf /tmp/kdrill-restore && mkdir -p /tmp/kdrill-restore && cd /tmp/kdrill-restore
%[1]s
mkdir -p kind
%[2]s
mv etc/kubernetes/manifests /tmp/kdrill-restore-manifests
mkdir -p /etc/kubernetes /var/lib/kubelet /kind
cp -a etc/kubernetes/. /etc/kubernetes/
cp -a var/lib/kubelet/. /var/lib/kubelet/
if [ -f kind/kubeadm.conf ]; then cp kind/kubeadm.conf /kind/kubeadm.conf; fi
printf %%s '%[3]s' >/kind/old-ipv4
if [ -n '%[4]s' ]; then printf %%s '%[4]s' >/kind/old-ipv6; fi
cd /etc/kubernetes/pki
rm -f apiserver.crt apiserver.key etcd/server.crt etcd/server.key etcd/peer.crt etcd/peer.key
kubeadm init phase certs apiserver --config /kind/kubeadm.conf
kubeadm init phase certs etcd-server --config /kind/kubeadm.conf
kubeadm init phase certs etcd-peer --config /kind/kubeadm.conf
mkdir -p /etc/kubernetes/manifests %[5]s
cp /tmp/kdrill-restore-manifests/* %[5]s/
rm -rf /tmp/kdrill-restore /tmp/kdrill-restore-manifests
systemctl enable kubelet >/dev/null 2>&1 || true
systemctl restart kubelet
`, unpack, sed, fresh.Address, fresh.Address6, manifests)
}
