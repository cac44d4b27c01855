package main

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func TestRestConfig(t *testing.T) {
	inCluster := func() (*rest.Config, error) {
		return &rest.Config{Host: "https://10.96.0.1:443", BearerTokenFile: saTokenFile}, nil
	}
	notInCluster := func() (*rest.Config, error) { return nil, rest.ErrNotInCluster }
	tests := []struct {
		name      string
		endpoint  string
		inCluster func() (*rest.Config, error)
		wantHost  string
		wantErr   error
	}{
		{name: "no endpoint uses in-cluster config", inCluster: inCluster, wantHost: "https://10.96.0.1:443"},
		{name: "kind's patched endpoint", endpoint: "kind-control-plane:6443", inCluster: notInCluster, wantHost: "https://kind-control-plane:6443"},
		{name: "endpoint with scheme kept", endpoint: "https://172.18.0.2:6443", inCluster: notInCluster, wantHost: "https://172.18.0.2:6443"},
		{name: "blank endpoint is unset", endpoint: "  ", inCluster: inCluster, wantHost: "https://10.96.0.1:443"},
		{name: "neither", inCluster: notInCluster, wantErr: rest.ErrNotInCluster},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := restConfig(tt.endpoint, tt.inCluster)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("restConfig() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if cfg.Host != tt.wantHost {
				t.Errorf("Host = %q, want %q", cfg.Host, tt.wantHost)
			}
			if cfg.BearerTokenFile != saTokenFile {
				t.Errorf("BearerTokenFile = %q, want %q", cfg.BearerTokenFile, saTokenFile)
			}
			if strings.TrimSpace(tt.endpoint) != "" && cfg.TLSClientConfig.CAFile != saCAFile {
				t.Errorf("CAFile = %q, want %q", cfg.TLSClientConfig.CAFile, saCAFile)
			}
			if cfg.Timeout != apiTimeout {
				t.Errorf("Timeout = %v, want %v", cfg.Timeout, apiTimeout)
			}
		})
	}
}
