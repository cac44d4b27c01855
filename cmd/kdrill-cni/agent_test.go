package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// fakeResult is a canned command result.
type fakeResult struct {
	out string
	err error
}

// fakeRunner answers commands from a table keyed by the full command line
// and records every call; unknown commands succeed with no output.
type fakeRunner struct {
	results map[string]fakeResult
	calls   []string
	stdin   []string
}

func (f *fakeRunner) Run(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, line)
	if stdin != nil {
		f.stdin = append(f.stdin, string(stdin))
	}
	r := f.results[line]
	return []byte(r.out), r.err
}

// mutations returns the calls that change the node.
func (f *fakeRunner) mutations() []string {
	var out []string
	for _, c := range f.calls {
		if strings.Contains(c, " replace ") || strings.Contains(c, " del ") ||
			strings.Contains(c, "-restore") || strings.Contains(c, " -A ") {
			out = append(out, c)
		}
	}
	return out
}

type fakeNodes struct {
	nodes []corev1.Node
	err   error
}

func (f fakeNodes) ListNodes(context.Context) ([]corev1.Node, error) { return f.nodes, f.err }

func TestAgentReconcile(t *testing.T) {
	const (
		listChain  = "iptables-nft -w -t nat -S KDRILL-MASQ"
		checkJump  = "iptables-nft -w -t nat -C POSTROUTING -m comment --comment kdrill-cni -j KDRILL-MASQ"
		addJump    = "iptables-nft -w -t nat -A POSTROUTING -m comment --comment kdrill-cni -j KDRILL-MASQ"
		restore    = "iptables-nft-restore -w --noflush"
		showOwned  = "ip -j -4 route show proto 201"
		showDef    = "ip -j -4 route show default"
		goodChain  = "-N KDRILL-MASQ\n-A KDRILL-MASQ -d 10.244.0.0/16 -j RETURN\n-A KDRILL-MASQ -s 10.244.0.0/16 -j MASQUERADE\n"
		defRoute   = `[{"dst":"default","gateway":"172.18.0.1","dev":"eth0","flags":[]}]`
		ownedBoth  = `[{"dst":"10.244.1.0/24","gateway":"172.18.0.3","dev":"eth0","flags":[]},{"dst":"10.244.2.0/24","gateway":"172.18.0.4","dev":"eth0","flags":[]}]`
		addWorker  = "ip route replace 10.244.1.0/24 via 172.18.0.3 proto 201"
		addWorker2 = "ip route replace 10.244.2.0/24 via 172.18.0.4 proto 201"
		delWorker2 = "ip route del 10.244.2.0/24 via 172.18.0.4 proto 201"
	)
	notFound := errors.New("exit status 1")
	cluster := []corev1.Node{
		node("kind-control-plane", []string{"10.244.0.0/24"}, "172.18.0.2"),
		node("kind-worker", []string{"10.244.1.0/24"}, "172.18.0.3"),
		node("kind-worker2", []string{"10.244.2.0/24"}, "172.18.0.4"),
	}
	selfConf, err := renderConflist("10.244.0.0/24", 1400)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		results       map[string]fakeResult
		nodes         fakeNodes
		ipForward     string // initial content
		existingConf  string // "" means no file
		wantMutations []string
		wantConf      string // "" means no file
		wantErr       string // substring; "" means success
	}{
		{
			name: "fresh node sets everything up",
			results: map[string]fakeResult{
				listChain: {err: notFound},
				checkJump: {err: notFound},
				showOwned: {out: "[]"},
				showDef:   {out: defRoute},
			},
			nodes:         fakeNodes{nodes: cluster},
			ipForward:     "0\n",
			wantMutations: []string{restore, addJump, addWorker, addWorker2},
			wantConf:      string(selfConf),
		},
		{
			name: "steady state changes nothing",
			results: map[string]fakeResult{
				listChain: {out: goodChain},
				showOwned: {out: ownedBoth},
				showDef:   {out: defRoute},
			},
			nodes:        fakeNodes{nodes: cluster},
			ipForward:    "1\n",
			existingConf: string(selfConf),
			wantConf:     string(selfConf),
		},
		{
			name: "API server down leaves routes and config alone",
			results: map[string]fakeResult{
				listChain: {out: goodChain},
				showOwned: {out: ownedBoth},
				showDef:   {out: defRoute},
			},
			nodes:        fakeNodes{err: errors.New("connection refused")},
			ipForward:    "1\n",
			existingConf: "previous config",
			wantConf:     "previous config",
			wantErr:      "list nodes",
		},
		{
			name: "deleted node loses its route",
			results: map[string]fakeResult{
				listChain: {out: goodChain},
				showOwned: {out: ownedBoth},
				showDef:   {out: defRoute},
			},
			nodes:         fakeNodes{nodes: cluster[:2]},
			ipForward:     "1\n",
			existingConf:  string(selfConf),
			wantMutations: []string{delWorker2},
			wantConf:      string(selfConf),
		},
		{
			name: "drifted chain is rewritten",
			results: map[string]fakeResult{
				listChain: {out: "-N KDRILL-MASQ\n"},
				showOwned: {out: ownedBoth},
				showDef:   {out: defRoute},
			},
			nodes:         fakeNodes{nodes: cluster},
			ipForward:     "1\n",
			existingConf:  string(selfConf),
			wantMutations: []string{restore},
			wantConf:      string(selfConf),
		},
		{
			name: "no podCIDR yet: routes synced, no config",
			results: map[string]fakeResult{
				listChain: {out: goodChain},
				showOwned: {out: "[]"},
				showDef:   {out: defRoute},
			},
			nodes: fakeNodes{nodes: []corev1.Node{
				node("kind-control-plane", nil, "172.18.0.2"),
				cluster[1],
			}},
			ipForward:     "1\n",
			wantMutations: []string{addWorker},
			wantErr:       "no IPv4 podCIDR",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			confDir := filepath.Join(dir, "net.d")
			if err := os.Mkdir(confDir, 0o755); err != nil {
				t.Fatal(err)
			}
			confPath := filepath.Join(confDir, conflistName)
			if tt.existingConf != "" {
				if err := os.WriteFile(confPath, []byte(tt.existingConf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fwd := filepath.Join(dir, "ip_forward")
			if err := os.WriteFile(fwd, []byte(tt.ipForward), 0o644); err != nil {
				t.Fatal(err)
			}
			r := &fakeRunner{results: tt.results}
			a := &agent{
				nodeName:      "kind-control-plane",
				podSubnets:    []string{"10.244.0.0/16"},
				confDir:       confDir,
				ipForwardPath: fwd,
				ipt:           iptablesTools{Mode: modeNFT, IPTables: "iptables-nft", Restore: "iptables-nft-restore"},
				run:           r,
				nodes:         tt.nodes,
				mtuOf: func(dev string) (int, error) {
					if dev != "eth0" {
						return 0, errors.New("no such device")
					}
					return 1400, nil
				},
				log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}

			err := a.reconcile(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("reconcile() = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("reconcile() = %v, want error containing %q", err, tt.wantErr)
			}
			if got := r.mutations(); !slices.Equal(got, tt.wantMutations) {
				t.Errorf("mutating commands:\n got %q\nwant %q", got, tt.wantMutations)
			}
			if slices.Contains(tt.wantMutations, restore) {
				if len(r.stdin) != 1 || r.stdin[0] != string(masqRestoreInput(a.podSubnets)) {
					t.Errorf("restore input = %q", r.stdin)
				}
			}
			gotConf, err := os.ReadFile(confPath)
			switch {
			case tt.wantConf == "" && err == nil:
				t.Errorf("config written but none expected:\n%s", gotConf)
			case tt.wantConf != "" && string(gotConf) != tt.wantConf:
				t.Errorf("config = %q (%v), want %q", gotConf, err, tt.wantConf)
			}
			if fwdNow, _ := os.ReadFile(fwd); strings.TrimSpace(string(fwdNow)) != "1" {
				t.Errorf("ip_forward = %q, want 1", fwdNow)
			}
		})
	}
}

func TestAgentLoopStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	r := &fakeRunner{}
	a := &agent{
		nodeName:      "n",
		podSubnets:    []string{"10.244.0.0/16"},
		confDir:       t.TempDir(),
		ipForwardPath: filepath.Join(t.TempDir(), "missing"),
		ipt:           iptablesTools{IPTables: "iptables", Restore: "iptables-restore"},
		run:           r,
		nodes: nodesFunc(func() ([]corev1.Node, error) {
			calls++
			cancel() // SIGTERM arrives during the first pass
			return nil, errors.New("stopped")
		}),
		mtuOf: func(string) (int, error) { return 1500, nil },
		log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	done := make(chan struct{})
	go func() { a.loop(ctx, time.Hour); close(done) }()
	<-done
	if calls != 1 {
		t.Errorf("reconciled %d times, want 1", calls)
	}
}

type nodesFunc func() ([]corev1.Node, error)

func (f nodesFunc) ListNodes(context.Context) ([]corev1.Node, error) { return f() }
