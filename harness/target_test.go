package harness

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"strings"
	"testing"

	"github.com/kdrill/kdrill/harness/internal/testcerts"
)

func TestByRoleAndZone(t *testing.T) {
	nodes := []Node{
		{Name: "cp", Role: RoleControlPlane, Zone: "zone-a"},
		{Name: "w1", Role: RoleWorker, Zone: "zone-b"},
		{Name: "w2", Role: RoleWorker, Zone: "zone-b"},
	}
	if got := ByRole(nodes, RoleWorker); len(got) != 2 || got[0].Name != "w1" || got[1].Name != "w2" {
		t.Errorf("ByRole(worker) = %v", got)
	}
	if got := ByRole(nodes, RoleControlPlane); len(got) != 1 || got[0].Name != "cp" {
		t.Errorf("ByRole(control-plane) = %v", got)
	}
	if got := ByZone(nodes, "zone-a"); len(got) != 1 || got[0].Name != "cp" {
		t.Errorf("ByZone(zone-a) = %v", got)
	}
	if got := ByZone(nodes, "zone-c"); got != nil {
		t.Errorf("ByZone(zone-c) = %v", got)
	}
}

func TestTLSConfig(t *testing.T) {
	c := testcerts.New(t)
	if _, err := TLSConfig(c.ClientCert, []byte("junk"), c.CA, ""); err == nil || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("bad key: %v", err)
	}
	if _, err := TLSConfig(c.ClientCert, c.ClientKey, []byte("junk"), ""); err == nil || !strings.Contains(err.Error(), "CA") {
		t.Errorf("bad CA: %v", err)
	}
	cfg, err := TLSConfig(c.ClientCert, c.ClientKey, c.CA, "")
	if err != nil {
		t.Fatal(err)
	}

	// A server that demands a client certificate signed by the CA accepts it.
	serverCert, err := tls.X509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CA)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("hi"))
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("dial with the built config: %v", err)
	}
	defer conn.Close()
	if b, err := io.ReadAll(conn); err != nil || string(b) != "hi" {
		t.Errorf("read %q, %v", b, err)
	}
}
