package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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

// TestServeAuditWebhook runs `redoubt serve --audit-webhook-token-file` as the audit webhook
// backend of a real API server: a cluster-admin binding made through the API reaches serve in a
// batch, becomes a stored finding readable through the API, and a caller without the token is
// refused.
func TestServeAuditWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own control plane")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The API server sends its webhook token only over TLS: serve gets a certificate for
	// 127.0.0.1 that the webhook kubeconfig and the test's client trust.
	certPEM, keyPEM := selfSignedCert(t)
	certFile, keyFile := write("tls.crt", string(certPEM)), write("tls.key", string(keyPEM))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	const token = "audit-webhook-token-0123456789"
	tokenFile := write("token", token+"\n")
	// The policy of docs/auditlog.md, cut down: request bodies of RBAC changes (the binding's
	// roleRef), metadata for everything else.
	policy := write("policy.yaml", `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Request
  verbs: ["create", "update", "patch"]
  resources:
  - group: rbac.authorization.k8s.io
- level: Metadata
`)
	webhook := write("webhook.kubeconfig", `apiVersion: v1
kind: Config
clusters:
- name: redoubt
  cluster: {server: "https://`+addr+`/audit/v1/events", certificate-authority-data: `+base64.StdEncoding.EncodeToString(certPEM)+`}
contexts:
- name: redoubt
  context: {cluster: redoubt, user: apiserver}
current-context: redoubt
users:
- name: apiserver
  user: {token: `+token+`}
`)
	c := testenv.ForTest(t, testenv.Options{APIServerFlags: map[string]string{
		"audit-policy-file":            policy,
		"audit-webhook-config-file":    webhook,
		"audit-webhook-mode":           "batch",
		"audit-webhook-batch-max-wait": "1s",
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--kubeconfig", c.KubeconfigPath, "--data-dir", filepath.Join(dir, "data"),
			"--listen", addr, "--debounce", "200ms", "--audit-webhook-token-file", tokenFile,
			"--tls-cert-file", certFile, "--tls-private-key-file", keyFile}, strings.NewReader(""), &stdout, &stderr)
	}()
	do := func(method, path, bearer string) (int, string) {
		req, err := http.NewRequest(method, "https://"+addr+path, strings.NewReader(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if code, _ := do("GET", "/readyz", ""); code == http.StatusOK {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before it was ready:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 90s:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, bearer := range []string{"", "wrong-token-0123456789"} {
		if code, body := do("POST", "/audit/v1/events", bearer); code != http.StatusUnauthorized {
			t.Errorf("audit webhook with bearer %q: HTTP %d %s, want 401", bearer, code, body)
		}
	}
	cfg, err := c.ConfigFor(testenv.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	_, err = kubernetes.NewForConfigOrDie(cfg).RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: testenv.AliceUser}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		code, body := do("GET", "/api/v1/findings?check=audit-rbac-cluster-admin-binding", c.Tokens[testenv.AdminUser])
		if code == http.StatusOK && strings.Contains(body, "alice-admin") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stored cluster-admin binding finding 60s after the binding (last answer HTTP %d %s):\n%s", code, body, stderr.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, stderr.String())
	}
}

// selfSignedCert returns a PEM certificate for 127.0.0.1, valid for an hour, and its key.
func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redoubt-serve-test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
