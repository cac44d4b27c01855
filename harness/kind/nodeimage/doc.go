// Package nodeimage assembles a kind node image without a container
// registry: Kubernetes, etcd, CoreDNS, crictl and the CNI plugins are built
// from Go modules, the root filesystem comes from debootstrap, and the
// control-plane images are preloaded into the node's containerd under the
// names kubeadm asks for. Every step is cached, so a second build with the
// same pins only checks that its outputs exist.
package nodeimage
