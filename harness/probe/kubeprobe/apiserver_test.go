package kubeprobe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// apiServer is just enough of a Kubernetes API server over HTTP for the
// read and write probers: /readyz, GET of namespaces, and create, list
// (paged by two, whatever the limit) and delete-collection of ConfigMaps.
type apiServer struct {
	mu sync.Mutex
	// mode: "" healthy, "unready" (/readyz fails), "down" (503 for
	// everything), "ack-lost" (writes are stored but answered 504).
	mode string
	rv   int
	cms  map[string]*corev1.ConfigMap // by namespace/name
}

func newAPIServer(t *testing.T) (*apiServer, kubernetes.Interface) {
	t.Helper()
	s := &apiServer{cms: map[string]*corev1.ConfigMap{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	// JSON, since this server speaks no protobuf (client-go defaults to it).
	c, err := NewClient(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: "application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func (s *apiServer) set(mode string) {
	s.mu.Lock()
	s.mode = mode
	s.mu.Unlock()
}

// drop removes ConfigMaps, as an etcd restore would.
func (s *apiServer) drop(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.cms {
		for _, n := range names {
			if strings.HasSuffix(k, "/"+n) {
				delete(s.cms, k)
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func status(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	writeJSON(w, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg,
	})
}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == "down" {
		status(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "down")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/readyz":
		if s.mode == "unready" {
			http.Error(w, "[-]etcd failed: reason withheld\nreadyz check failed", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	case len(parts) == 4 && parts[2] == "namespaces" && r.Method == http.MethodGet:
		if parts[3] != "kube-system" {
			status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "namespaces "+parts[3]+" not found")
			return
		}
		writeJSON(w, http.StatusOK, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: parts[3], ResourceVersion: strconv.Itoa(s.rv)},
		})
	case len(parts) == 5 && parts[4] == "configmaps":
		s.configMaps(w, r, parts[3])
	default:
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "no route "+r.URL.Path)
	}
}

func (s *apiServer) configMaps(w http.ResponseWriter, r *http.Request, ns string) {
	switch r.Method {
	case http.MethodPost:
		var cm corev1.ConfigMap
		if err := json.NewDecoder(r.Body).Decode(&cm); err != nil {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
		key := ns + "/" + cm.Name
		if _, ok := s.cms[key]; ok {
			status(w, http.StatusConflict, metav1.StatusReasonAlreadyExists, "exists")
			return
		}
		s.rv++
		cm.Namespace, cm.ResourceVersion = ns, strconv.Itoa(s.rv)
		cm.TypeMeta = metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}
		s.cms[key] = &cm
		if s.mode == "ack-lost" {
			status(w, http.StatusGatewayTimeout, metav1.StatusReasonTimeout, "timeout")
			return
		}
		writeJSON(w, http.StatusCreated, &cm)
	case http.MethodGet:
		sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
		if err != nil {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
		var keys []string
		for k, cm := range s.cms {
			if strings.HasPrefix(k, ns+"/") && sel.Matches(labels.Set(cm.Labels)) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		from := 0
		if c := r.URL.Query().Get("continue"); c != "" {
			from, _ = strconv.Atoi(c)
		}
		list := &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{Kind: "ConfigMapList", APIVersion: "v1"}}
		list.ResourceVersion = strconv.Itoa(s.rv)
		to := min(from+2, len(keys))
		for _, k := range keys[from:to] {
			list.Items = append(list.Items, *s.cms[k])
		}
		if to < len(keys) {
			list.Continue = strconv.Itoa(to)
		}
		writeJSON(w, http.StatusOK, list)
	case http.MethodDelete:
		sel, _ := labels.Parse(r.URL.Query().Get("labelSelector"))
		for k, cm := range s.cms {
			if strings.HasPrefix(k, ns+"/") && sel.Matches(labels.Set(cm.Labels)) {
				delete(s.cms, k)
			}
		}
		writeJSON(w, http.StatusOK, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
	default:
		status(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, r.Method)
	}
}
