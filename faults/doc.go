// Package faults injects the failures kdrill rehearses: a crashed
// kube-apiserver or kubelet, a stopped control-plane machine, lost etcd
// data, a network partition between zones. Every injection is written to an
// on-disk undo journal (and synced) before it touches the cluster, and every
// fault can be reverted from that record alone, so a later 'kdrill recover'
// can undo what a crashed kdrill left behind.
package faults
