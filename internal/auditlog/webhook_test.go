package auditlog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"redoubt.dev/redoubt/internal/finding"
)

func TestWebhookBatches(t *testing.T) {
	var mu sync.Mutex
	var got [][]finding.Finding
	h := NewWebhook(Options{}, func(_ context.Context, fs []finding.Finding) {
		mu.Lock()
		got = append(got, fs)
		mu.Unlock()
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	exec := event("e1", 0, "create", "alice", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh",
		`{"resource":"pods","namespace":"shop","name":"web-0","subresource":"exec"}`, 101, "")
	list := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` + exec + `]}`
	post := func(body string) int {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 2 {
		if code := post(list); code != 200 {
			t.Fatalf("batch %d: status %d", i, code)
		}
	}
	if code := post(`{"kind":"Pod"}`); code != 400 {
		t.Errorf("a Pod: status %d, want 400", code)
	}
	if code := post(`[]`); code != 400 {
		t.Errorf("an array: status %d, want 400", code)
	}
	resp, _ := http.Get(srv.URL)
	if resp.StatusCode != 405 {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || len(got[0]) != 1 || got[0][0].Check != "audit-pod-exec" {
		t.Fatalf("batches delivered %v", got)
	}
	// The second batch repeats the exec: the same finding, counted twice.
	if got[1][0].Evidence["count"] != 2 {
		t.Errorf("second batch count %v, want 2", got[1][0].Evidence["count"])
	}
}
