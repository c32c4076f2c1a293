package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/inventory"
)

// The anonymous probe records what each path answers, and never sends the credentials the
// configuration carries.
func TestAnonymousSendsNoCredentials(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || len(r.TLS.PeerCertificates) > 0 {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		switch r.URL.Path {
		case "/api":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL, BearerToken: "secret-token", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	p := Anonymous(context.Background(), cfg)
	want := map[string]int{"/api": 403, "/version": 200, "/healthz": 200}
	if len(p.Results) != len(want) {
		t.Fatalf("results %+v", p.Results)
	}
	for _, r := range p.Results {
		if r.Error != "" || r.Status != want[r.Path] {
			t.Errorf("%s: status %d error %q, want %d", r.Path, r.Status, r.Error, want[r.Path])
		}
	}
}

// An unreachable server is recorded, not returned: the scan goes on.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := &rest.Config{Host: "https://" + addr, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	snap := &inventory.Snapshot{Nodes: []*inventory.Node{}}
	Observe(context.Background(), cfg, snap)
	for _, r := range snap.AnonymousProbe.Results {
		if r.Error == "" {
			t.Errorf("%s: no error recorded for an unreachable server", r.Path)
		}
	}
}
