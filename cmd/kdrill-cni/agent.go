package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// fallbackMTU is used when the uplink cannot be found; it is Docker's
// default bridge MTU, which is what kind nodes have unless configured.
const fallbackMTU = 1500

// nodeLister lists the cluster's nodes.
type nodeLister interface {
	ListNodes(ctx context.Context) ([]corev1.Node, error)
}

// agent reconciles one node's pod network with the cluster's nodes.
type agent struct {
	nodeName      string
	podSubnets    []string // IPv4 cluster pod CIDRs, canonical
	confDir       string   // /etc/cni/net.d
	ipForwardPath string   // /proc/sys/net/ipv4/ip_forward
	ipt           iptablesTools
	run           runner
	nodes         nodeLister
	mtuOf         func(dev string) (int, error)
	log           *slog.Logger
}

// loop reconciles at once and then every interval until ctx ends. Failures
// are logged and retried on the next tick: the drills kill the API server,
// and the agent must keep the node's network as it was until it is back.
func (a *agent) loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// Every command is a single atomic kernel change, so cutting one
		// short on SIGTERM leaves nothing half done.
		rctx, cancel := context.WithTimeout(ctx, 3*interval)
		err := a.reconcile(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("reconcile failed, retrying", "in", interval, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reconcile makes one pass. The node-local steps do not need the API server
// and run even when it is down; the steps that do are skipped then, leaving
// routes and config untouched.
func (a *agent) reconcile(ctx context.Context) error {
	var errs []error
	if err := a.ensureIPForward(); err != nil {
		errs = append(errs, err)
	}
	if err := a.ensureMasquerade(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := a.syncNodes(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ensureIPForward turns on IPv4 forwarding, without which the node drops
// traffic between its pods and other nodes.
func (a *agent) ensureIPForward() error {
	cur, err := os.ReadFile(a.ipForwardPath)
	if err != nil {
		return fmt.Errorf("read %s: %w", a.ipForwardPath, err)
	}
	if string(bytes.TrimSpace(cur)) == "1" {
		return nil
	}
	if err := os.WriteFile(a.ipForwardPath, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("enable ip forwarding in %s: %w", a.ipForwardPath, err)
	}
	a.log.Info("enabled ip forwarding")
	return nil
}

// ensureMasquerade installs masqChain and the POSTROUTING jump to it, only
// writing when what is there differs.
func (a *agent) ensureMasquerade(ctx context.Context) error {
	listing, err := a.run.Run(ctx, nil, a.ipt.IPTables, "-w", "-t", "nat", "-S", masqChain)
	if err != nil || !chainMatches(listing, masqChainRules(a.podSubnets)) {
		if _, err := a.run.Run(ctx, masqRestoreInput(a.podSubnets), a.ipt.Restore, "-w", "--noflush"); err != nil {
			return fmt.Errorf("install masquerade chain %s: %w", masqChain, err)
		}
		a.log.Info("installed masquerade rules", "chain", masqChain, "podSubnets", a.podSubnets, "iptables", a.ipt.Mode)
	}
	check := append([]string{"-w", "-t", "nat", "-C"}, masqJumpRule()...)
	if _, err := a.run.Run(ctx, nil, a.ipt.IPTables, check...); err == nil {
		return nil
	}
	add := append([]string{"-w", "-t", "nat", "-A"}, masqJumpRule()...)
	if _, err := a.run.Run(ctx, nil, a.ipt.IPTables, add...); err != nil {
		return fmt.Errorf("add POSTROUTING jump to %s: %w", masqChain, err)
	}
	a.log.Info("added POSTROUTING jump", "chain", masqChain)
	return nil
}

// syncNodes writes this node's CNI config and the routes to other nodes'
// pods from one listing of the nodes.
func (a *agent) syncNodes(ctx context.Context) error {
	nodes, err := a.nodes.ListNodes(ctx)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	var errs []error
	if err := a.writeConfig(ctx, nodes); err != nil {
		errs = append(errs, err)
	}
	if err := a.syncRoutes(ctx, desiredRoutes(a.nodeName, nodes)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeConfig writes the CNI config once the node has a podCIDR.
func (a *agent) writeConfig(ctx context.Context, nodes []corev1.Node) error {
	var self *corev1.Node
	for i := range nodes {
		if nodes[i].Name == a.nodeName {
			self = &nodes[i]
		}
	}
	if self == nil {
		return fmt.Errorf("node %s not found", a.nodeName)
	}
	cidr := nodePodCIDRv4(self)
	if cidr == "" {
		// kube-controller-manager allocates it shortly after the node
		// registers; until then the runtime reports the network not ready.
		return fmt.Errorf("node %s has no IPv4 podCIDR yet", a.nodeName)
	}
	conf, err := renderConflist(cidr, a.uplinkMTU(ctx))
	if err != nil {
		return fmt.Errorf("render CNI config: %w", err)
	}
	path := filepath.Join(a.confDir, conflistName)
	wrote, err := writeFileIfChanged(path, conf)
	if err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	if wrote {
		a.log.Info("wrote CNI config", "path", path, "podCIDR", cidr)
	}
	return nil
}

// uplinkMTU returns the MTU of the interface carrying the default route, so
// pod packets are never larger than what the node can send on.
func (a *agent) uplinkMTU(ctx context.Context) int {
	out, err := a.run.Run(ctx, nil, "ip", "-j", "-4", "route", "show", "default")
	if err != nil {
		a.log.Warn("find default route, using fallback MTU", "mtu", fallbackMTU, "err", err)
		return fallbackMTU
	}
	dev, err := defaultRouteDev(out)
	if err != nil {
		a.log.Warn("find default route, using fallback MTU", "mtu", fallbackMTU, "err", err)
		return fallbackMTU
	}
	mtu, err := a.mtuOf(dev)
	if err != nil {
		a.log.Warn("read MTU, using fallback", "dev", dev, "mtu", fallbackMTU, "err", err)
		return fallbackMTU
	}
	return mtu
}

// syncRoutes makes the routes the agent owns equal to want.
func (a *agent) syncRoutes(ctx context.Context, want []route) error {
	out, err := a.run.Run(ctx, nil, "ip", "-j", "-4", "route", "show", "proto", routeProto)
	if err != nil {
		return fmt.Errorf("list owned routes: %w", err)
	}
	have, err := parseOwnedRoutes(out)
	if err != nil {
		return fmt.Errorf("list owned routes: %w", err)
	}
	replace, remove := diffRoutes(want, have)
	var errs []error
	for _, r := range replace {
		if _, err := a.run.Run(ctx, nil, "ip", routeReplaceArgs(r)...); err != nil {
			errs = append(errs, fmt.Errorf("route %s via %s: %w", r.Dst, r.Via, err))
			continue
		}
		a.log.Info("route installed", "dst", r.Dst, "via", r.Via)
	}
	for _, r := range remove {
		if _, err := a.run.Run(ctx, nil, "ip", routeDeleteArgs(r)...); err != nil {
			errs = append(errs, fmt.Errorf("remove route %s: %w", r.Dst, err))
			continue
		}
		a.log.Info("route removed", "dst", r.Dst, "via", r.Via)
	}
	return errors.Join(errs...)
}
