// Package probe watches a cluster the way its users would while a fault is in
// place. A Runner runs each Prober at its own interval until its context ends
// and records every attempt (start, duration, outcome, detail) into a
// History; the timeline and SLO packages judge that history afterwards.
// Probers that need the Kubernetes API or etcd live in the kubeprobe and
// etcdprobe sub-packages, so readers of results need not link client libraries.
package probe
