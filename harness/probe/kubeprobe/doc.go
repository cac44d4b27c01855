// Package kubeprobe holds the probers that talk to the Kubernetes API: reads
// (a quorum GET), writes (one ConfigMap per attempt, recorded in
// the ledger and read back after recovery) and scheduling (a new pod timed to
// Running). They take a kubernetes.Interface, so they run against any cluster.
package kubeprobe
