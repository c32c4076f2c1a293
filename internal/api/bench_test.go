package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/estate"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/testenv"
)

// benchAPI serves the stored audit of the 10,000-workload estate from a real SQLite store,
// authenticated and authorized through the real API server (answers cached, as in production).
func benchAPI(b *testing.B) (url, token string, findings int) {
	b.Helper()
	c := testenv.Shared(b)
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := estate.Write(filepath.Join(dir, "estate"), estate.Options{Workloads: 10000, Namespaces: 100}); err != nil {
		b.Fatal(err)
	}
	snap, err := manifest.Load(ctx, []string{filepath.Join(dir, "estate")}, manifest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	res, err := audit.Run(ctx, snap, audit.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.RecordScan(ctx, store.ScopeCluster, t0, t0, res.Findings, "bench"); err != nil {
		b.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(c.Admin)
	if err != nil {
		b.Fatal(err)
	}
	auth := NewKubernetes(cs, KubernetesOptions{})
	srv := httptest.NewServer(New(Options{Store: st, Authenticator: auth, Authorizer: auth, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}))
	b.Cleanup(srv.Close)
	return srv.URL, c.Tokens[testenv.AdminUser], len(res.Findings)
}

func benchGet(b *testing.B, url, token string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	b.SetBytes(n)
}

// BenchmarkAPI: one page of filtered findings, the last page by cursor depth, and the workload
// roll-up (which reads every open finding) over the stored audit of 10,000 workloads.
func BenchmarkAPI(b *testing.B) {
	url, token, n := benchAPI(b)
	b.Logf("%d stored findings", n)
	b.Run("findings-page", func(b *testing.B) {
		for b.Loop() {
			benchGet(b, url+"/api/v1/findings?limit=100&severity=high&namespace=team-042", token)
		}
	})
	b.Run("findings-1000", func(b *testing.B) {
		for b.Loop() {
			benchGet(b, url+"/api/v1/findings?limit=1000", token)
		}
	})
	b.Run("workloads", func(b *testing.B) {
		for b.Loop() {
			benchGet(b, url+"/api/v1/workloads?limit=100", token)
		}
		b.ReportMetric(float64(n), "findings-read/op")
	})
}
