// Command kdrill-echo is the sample workload kdrill probes during drills: a
// small static HTTP server whose GET / answers with the pod, node and zone
// that served the request, so a probe can tell where its traffic landed.
//
// The zone comes from the node's topology.kubernetes.io/zone label, read from
// the API server in the background and cached. Requests never wait on the API
// server, because the drills take it down while the probes keep running.
// It uses only the standard library so that it builds with CGO_ENABLED=0 and
// runs FROM scratch; the manifest is harness/kind/assets/workload.yaml.
package main
