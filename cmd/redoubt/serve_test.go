package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
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
