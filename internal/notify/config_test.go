package notify

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, doc, err string
	}{
		{"no section", "serve:\n  interval: 1m\n", ""},
		{"webhook and slack", `
serve: {x: 1}
notifications:
  baseURL: https://redoubt.example.test
  maxPerMessage: 50
  timeout: 5s
  receivers:
  - {name: ops, type: webhook, url: "https://hooks.example.test/r", minSeverity: critical, resolved: true}
  - {name: chat, type: slack, urlFile: /run/secrets/slack}
`, ""},
		{"misspelt field", "notifications:\n  receivers:\n  - {name: ops, type: webhook, url: 'http://h/x', minSeverty: high}\n", "minSeverty"},
		{"no name", "notifications:\n  receivers:\n  - {type: webhook, url: 'http://h/x'}\n", "notifications.receivers[0].name: required"},
		{"bad name", "notifications:\n  receivers:\n  - {name: Ops_1, type: webhook, url: 'http://h/x'}\n", "receivers[0] (Ops_1).name"},
		{"twice", "notifications:\n  receivers:\n  - {name: ops, type: webhook, url: 'http://h/x'}\n  - {name: ops, type: slack, url: 'http://h/y'}\n", "receivers[1] (ops).name: \"ops\" is used"},
		{"bad type", "notifications:\n  receivers:\n  - {name: ops, type: email, url: 'http://h/x'}\n", "(ops).type: \"email\" is not webhook or slack"},
		{"no url", "notifications:\n  receivers:\n  - {name: ops, type: webhook}\n", "(ops).url: required"},
		{"both urls", "notifications:\n  receivers:\n  - {name: ops, type: webhook, url: 'http://h/x', urlFile: /f}\n", "(ops).urlFile: give url or urlFile"},
		{"not http", "notifications:\n  receivers:\n  - {name: ops, type: webhook, url: 'ftp://h/x'}\n", "(ops).url: must be an http"},
		{"bad severity", "notifications:\n  receivers:\n  - {name: ops, type: webhook, url: 'http://h/x', minSeverity: urgent}\n", "(ops).minSeverity"},
		{"token and header", "notifications:\n  receivers:\n  - {name: ops, type: webhook, url: 'http://h/x', tokenFile: /a, headerFile: /b}\n", "(ops).headerFile"},
		{"bad duration", "notifications:\n  timeout: soon\n", "\"soon\" is not a duration"},
		{"max too big", "notifications:\n  maxPerMessage: 5000\n", "notifications.maxPerMessage"},
		{"bad base", "notifications:\n  baseURL: redoubt.local\n", "notifications.baseURL"},
		{"not yaml", "notifications: [", "serve.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("serve.yaml", []byte(tc.doc))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "serve.yaml") {
				t.Errorf("error %v, want one starting with the file and containing %q", err, tc.err)
			}
		})
	}
}

// Build reads URL, token and header files; the token reaches the receiver as a bearer header.
func TestBuildReadsSecrets(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	url, tok, hdr := write("url", srv.URL+"/hook\n"), write("token", "s3cret\n"), write("header", "X-Api-Key: k3y\n")
	doc := "notifications:\n  receivers:\n" +
		"  - {name: a, type: webhook, urlFile: " + url + ", tokenFile: " + tok + ", minSeverity: medium, resolved: true}\n" +
		"  - {name: b, type: slack, url: '" + srv.URL + "', headerFile: " + hdr + "}\n"
	cfg, err := ParseConfig("serve.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := cfg.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Store() != (store.Receiver{Name: "a", MinSeverity: finding.Medium, Resolved: true}) || rs[1].Store() != (store.Receiver{Name: "b", MinSeverity: finding.High}) {
		t.Errorf("receivers %+v %+v", rs[0].Store(), rs[1].Store())
	}
	if _, ok := rs[1].(*Slack); !ok {
		t.Errorf("b is a %T, want *Slack", rs[1])
	}
	if err := rs[0].Post(t.Context(), []byte(`{}`)); err != nil || got.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("post: %v, Authorization %q", err, got.Get("Authorization"))
	}
	if err := rs[1].Post(t.Context(), []byte(`{}`)); err != nil || got.Get("X-Api-Key") != "k3y" || got.Get("Authorization") != "" {
		t.Errorf("post: %v, headers %v", err, got)
	}

	bad := "notifications:\n  receivers:\n  - {name: a, type: webhook, url: 'http://h/x', tokenFile: " + filepath.Join(dir, "missing") + "}\n"
	cfg, _ = ParseConfig("serve.yaml", []byte(bad))
	if _, err := cfg.Build(nil); err == nil || !strings.Contains(err.Error(), "receivers[0] (a).tokenFile") {
		t.Errorf("missing token file: %v", err)
	}
}

// A receiver's error says which receiver and what it answered, never its URL (Slack's is a secret).
func TestPostErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("no ", 10000), http.StatusBadGateway)
	}))
	defer srv.Close()
	w := NewWebhook(store.Receiver{Name: "ops"}, srv.URL+"/T000/secret-path", "", time.Second)
	err := w.Post(t.Context(), []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "receiver ops: HTTP 502") || len(err.Error()) > maxResponse+100 {
		t.Errorf("error %.200v", err)
	}
	srv.Close()
	err = w.Post(t.Context(), []byte(`{}`))
	if err == nil || strings.Contains(err.Error(), "secret-path") {
		t.Errorf("a refused connection: %v (must not quote the URL)", err)
	}
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/elsewhere", http.StatusFound))
	defer redirect.Close()
	if err := NewWebhook(store.Receiver{Name: "ops"}, redirect.URL, "", time.Second).Post(t.Context(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "HTTP 302") {
		t.Errorf("a redirect: %v, want it refused as HTTP 302", err)
	}
	w.maxBody = 10
	if err := w.Post(t.Context(), []byte(strings.Repeat("x", 11))); err == nil || !strings.Contains(err.Error(), "body limit") {
		t.Errorf("an oversized body: %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("notifications:\n  receivers:\n  - {name: ops, type: webhook, url: 'http://h/x'}\n"))
	f.Add([]byte("notifications: {timeout: 1s, maxPerMessage: 3}"))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("f.yaml", data)
		if err != nil {
			return
		}
		// Whatever parses is valid: Build fails only on the files it reads.
		for _, r := range cfg.Receivers {
			if r.Name == "" || (r.URL == "") == (r.URLFile == "") {
				t.Fatalf("accepted an invalid receiver %+v", r)
			}
		}
	})
}
