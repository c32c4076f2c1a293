package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/testenv"
)

// TestServeUsageErrors: flags that cannot work are exit 2 with a message naming the flag, before
// anything is opened or listened on.
func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--data-dir"},
		{[]string{"serve", "--data-dir", dir, "--database-url", "postgres://u@h/db"}, "not both"},
		{[]string{"serve", "--data-dir", dir, "--tls-cert-file", "c.pem"}, "--tls-private-key-file"},
		{[]string{"serve", "--data-dir", dir, "--debounce", "0s"}, "--debounce"},
		{[]string{"serve", "--data-dir", dir, "--debounce", "2s", "--max-delay", "1s"}, "--max-delay"},
		{[]string{"serve", "--data-dir", dir, "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--data-dir", dir, "--pss-level", "strict"}, "--pss-level"},
		{[]string{"serve", "--data-dir", dir, "extra"}, "unknown command"},
	} {
		code, _, stderr := redoubt(t, "", tc.args...)
		if code != exitInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, exitInput, tc.want)
		}
	}
}

// TestServeEndToEnd runs `redoubt serve` against the real control plane: it becomes ready once
// its first audit is stored, serves the API (which wants a token), logs JSON lines only, and
// stops cleanly with exit 0 when its context ends (main cancels it on SIGTERM), leaving the
// audit in the store.
func TestServeEndToEnd(t *testing.T) {
	c := testenv.Shared(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--kubeconfig", c.KubeconfigPath, "--data-dir", dir,
			"--listen", addr, "--debounce", "200ms"}, strings.NewReader(""), &stdout, &stderr)
	}()
	base := "http://" + addr
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body := get("/readyz")
		if code == http.StatusOK {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before it was ready:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 90s: HTTP %d %s\n%s", code, body, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get("/api/v1/findings"); code != http.StatusUnauthorized {
		t.Errorf("/api/v1/findings without a token: HTTP %d %s, want 401", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "redoubt_audits_total ") {
		t.Errorf("/metrics: HTTP %d, no redoubt_audits_total", code)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exited %d after its context ended, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop 30s after its context ended:\n%s", stderr.String())
	}
	var last map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(stderr.String()), "\n") {
		last = nil
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("a log line is not JSON: %q", l)
		}
	}
	if last["msg"] != "stopped" {
		t.Errorf("last log line %v, want msg=stopped", last)
	}
	if stdout.String() != "" {
		t.Errorf("serve wrote to standard output: %q", stdout.String())
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scans, err := st.Scans(context.Background(), store.ScopeCluster, 10)
	if err != nil || len(scans) == 0 {
		t.Fatalf("no stored scan after serve stopped: %v %v", scans, err)
	}
}

// TestServeNotifies runs `redoubt serve --notifications FILE` against the real control plane and
// a real webhook receiver on loopback: the first audit's findings arrive as one versioned digest,
// sent from the store's outbox after the audit is stored.
func TestServeNotifies(t *testing.T) {
	c := testenv.Shared(t)
	got := make(chan []byte, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer receiver.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(conf, []byte("notifications:\n  receivers:\n  - name: soc\n    type: webhook\n    url: "+
		receiver.URL+"\n    minSeverity: info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--kubeconfig", c.KubeconfigPath, "--data-dir", filepath.Join(dir, "data"),
			"--listen", addr, "--debounce", "200ms", "--notifications", conf}, strings.NewReader(""), &stdout, &stderr)
	}()
	select {
	case body := <-got:
		var p struct {
			Version       string `json:"version"`
			Receiver      string `json:"receiver"`
			Notifications []struct {
				Event    string `json:"event"`
				RecordID string `json:"recordId"`
			} `json:"notifications"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("the receiver got no JSON: %v\n%s", err, body)
		}
		if p.Version != "redoubt.dev/notifications/v1" || p.Receiver != "soc" || len(p.Notifications) == 0 ||
			p.Notifications[0].Event != "opened" || p.Notifications[0].RecordID == "" {
			t.Errorf("payload %s", body)
		}
	case code := <-done:
		t.Fatalf("serve exited %d before notifying:\n%s", code, stderr.String())
	case <-time.After(120 * time.Second):
		t.Fatalf("no notification 120s after start:\n%s", stderr.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, stderr.String())
	}
}

// A notifications file that names an unknown receiver type is refused at start, naming the field.
func TestServeRefusesBadNotifications(t *testing.T) {
	c := testenv.Shared(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(conf, []byte("notifications:\n  receivers:\n  - name: chat\n    type: email\n    url: http://127.0.0.1:1/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := redoubt(t, "", "serve", "--kubeconfig", c.KubeconfigPath, "--data-dir", filepath.Join(dir, "data"),
		"--listen", "127.0.0.1:0", "--notifications", conf)
	if code != exitInput || !strings.Contains(errOut, "type") || !strings.Contains(errOut, "email") {
		t.Errorf("exit %d, want 2 naming the bad type:\n%s", code, errOut)
	}
}
