package main

import (
	"encoding/json"
	"net/http"
	"time"
)

// podInfo says where this replica runs, from the downward API.
type podInfo struct {
	Pod  string
	Node string
}

// echoReply is the body of GET /.
type echoReply struct {
	Pod  string `json:"pod"`
	Node string `json:"node"`
	Zone string `json:"zone"`
	Time string `json:"time"`
}

// newHandler serves GET / and GET /healthz. zone must not block: it is
// called on every request. draining reports whether the server is shutting
// down.
func newHandler(info podInfo, zone func() string, now func() time.Time, draining func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(echoReply{
			Pod:  info.Pod,
			Node: info.Node,
			Zone: zone(),
			Time: now().UTC().Format(time.RFC3339Nano),
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// Probes must see each replica's own answer, never a cached one.
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
	})
	// healthz says only that the process serves HTTP; it must not depend on
	// the API server, or every replica would turn unready during a drill.
	// While draining it fails, so the replica leaves the Service before it
	// stops listening.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if draining() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("draining\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}
