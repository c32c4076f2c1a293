package auditlog_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/auditlog"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/testenv"
)

// auditPolicy is the policy docs/auditlog.md recommends: Secrets (and token requests) at
// Metadata, first, so that no Secret value is ever logged; the writes the detections read
// bodies of at Request; everything else at Metadata.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets", "configmaps", "serviceaccounts/token"]
  - group: authentication.k8s.io
    resources: ["tokenreviews", "tokenrequests"]
- level: Request
  verbs: ["create", "update", "patch"]
  resources:
  - group: ""
    resources: ["pods", "replicationcontrollers", "podtemplates"]
  - group: apps
  - group: batch
  - group: rbac.authorization.k8s.io
  - group: admissionregistration.k8s.io
- level: Metadata
`

// secretValue must never appear in the audit log.
const secretValue = "hunter2-do-not-log-me"

// TestRealAuditLog performs the attacks the detections look for against a real kube-apiserver
// with auditing on, then analyses the log file the API server wrote.
func TestRealAuditLog(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	logPath := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testenv.ForTest(t, testenv.Options{APIServerFlags: map[string]string{
		"audit-policy-file": policy,
		"audit-log-path":    logPath,
		"audit-log-format":  "json",
		// Anonymous requests reach authorization, so that a binding to system:anonymous shows.
		"anonymous-auth": "true",
	}})
	ctx := context.Background()
	clientFor := func(user string) *kubernetes.Clientset {
		cfg, err := c.ConfigFor(user)
		if err != nil {
			t.Fatal(err)
		}
		return kubernetes.NewForConfigOrDie(cfg)
	}
	admin, alice := clientFor(testenv.AdminUser), clientFor(testenv.AliceUser)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

	// The baseline: the admin reads a Secret of its namespace.
	for _, ns := range []string{"shop", "payments"} {
		_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: meta(ns)}, metav1.CreateOptions{})
		must("namespace "+ns, err)
	}
	_, err := admin.CoreV1().Secrets("shop").Create(ctx, &corev1.Secret{ObjectMeta: meta("db"),
		StringData: map[string]string{"password": secretValue}}, metav1.CreateOptions{})
	must("secret", err)
	_, err = admin.CoreV1().Secrets("shop").Get(ctx, "db", metav1.GetOptions{})
	must("baseline read", err)
	// The API server stamps events with its own clock, the same as this one.
	time.Sleep(1100 * time.Millisecond)
	baselineUntil := time.Now()
	time.Sleep(100 * time.Millisecond)

	// Alice is made cluster-admin, then reads every Secret and one by name.
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: meta("alice-admin"),
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: testenv.AliceUser}}}, metav1.CreateOptions{})
	must("bind alice", err)
	waitFor(t, func() bool {
		_, err := alice.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
		return err == nil
	})
	_, err = alice.CoreV1().Secrets("shop").Get(ctx, "db", metav1.GetOptions{})
	must("alice reads the secret", err)

	// A privileged pod with the host's PID namespace, and a pod in kube-system by a person.
	yes := true
	_, err = admin.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{ObjectMeta: meta("root"), Spec: corev1.PodSpec{HostPID: true,
		Containers: []corev1.Container{{Name: "sh", Image: "debian:12", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}, metav1.CreateOptions{})
	must("privileged pod", err)
	_, err = alice.CoreV1().Pods("kube-system").Create(ctx, &corev1.Pod{ObjectMeta: meta("debug"), Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "sh", Image: "debian:12"}}}}, metav1.CreateOptions{})
	must("kube-system pod", err)

	// A wildcard ClusterRole, and an admission webhook set to fail open, then deleted.
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: meta("everything"),
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}, metav1.CreateOptions{})
	must("wildcard role", err)
	ignore, none := admissionv1.Ignore, admissionv1.SideEffectClassNone
	url := "https://127.0.0.1:1/validate"
	_, err = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: meta("gate"), Webhooks: []admissionv1.ValidatingWebhook{{Name: "gate.example.com", FailurePolicy: &ignore,
			SideEffects: &none, AdmissionReviewVersions: []string{"v1"}, ClientConfig: admissionv1.WebhookClientConfig{URL: &url},
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{APIGroups: []string{"example.com"}, APIVersions: []string{"v1"}, Resources: []string{"widgets"}}}}}}},
		metav1.CreateOptions{})
	must("webhook", err)
	must("delete webhook", admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, "gate", metav1.DeleteOptions{}))

	// Evidence removed.
	must("delete events", admin.CoreV1().Events("shop").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))

	// The anonymous user is granted pods in shop (the misconfiguration), and uses it.
	_, err = admin.RbacV1().Roles("shop").Create(ctx, &rbacv1.Role{ObjectMeta: meta("pod-reader"),
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{})
	must("role", err)
	_, err = admin.RbacV1().RoleBindings("shop").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta("anonymous-pods"),
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "system:anonymous"}}}, metav1.CreateOptions{})
	must("anonymous binding", err)
	anon := kubernetes.NewForConfigOrDie(rest.AnonymousClientConfig(c.Admin))
	waitFor(t, func() bool {
		_, err := anon.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
		return err == nil
	})

	// Wrong tokens: a burst of 401s from 127.0.0.1.
	bad := rest.AnonymousClientConfig(c.Admin)
	bad.BearerToken = "not-a-token"
	badClient := kubernetes.NewForConfigOrDie(bad)
	for range 25 {
		if _, err := badClient.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
			t.Fatal("a wrong token was accepted")
		}
	}

	// A service account's token used from the loopback address, outside the ranges below.
	_, err = admin.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta("api")}, metav1.CreateOptions{})
	must("service account", err)
	tr, err := admin.CoreV1().ServiceAccounts("shop").CreateToken(ctx, "api", &authnv1.TokenRequest{}, metav1.CreateOptions{})
	must("token request", err)
	sa := rest.AnonymousClientConfig(c.Admin)
	sa.BearerToken = tr.Status.Token
	// Everything here comes from 127.0.0.1, the "node" of this cluster: the stolen token comes
	// through a proxy that says where from, as a load balancer in front of the API server does.
	sa.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Set("X-Forwarded-For", "198.51.100.7")
			return rt.RoundTrip(r)
		})
	}
	// Refused (the service account may do nothing), but authenticated: the stolen token is used.
	_, _ = kubernetes.NewForConfigOrDie(sa).CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})

	// exec needs a kubelet, which does not run here. This is the event the API server writes for
	// `kubectl exec` (WebSocket, verb get, answered 101), in the shape of one recorded from a
	// v1.37 cluster, with this cluster's pod and user.
	execLog := filepath.Join(dir, "exec.log")
	exec := fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"9d3f3b5e-6a62-4c1e-9d9c-5f2b1f0e7a11","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods/root/exec?command=sh\u0026command=-c\u0026command=cat+%%2Fproc%%2F1%%2Fenviron\u0026container=sh\u0026stdin=true\u0026stdout=true\u0026tty=true","verb":"get","user":{"username":"alice","uid":"alice-uid","groups":["system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/9e3f5d0","objectRef":{"resource":"pods","namespace":"shop","name":"root","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":%q,"stageTimestamp":%q,"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"alice-admin\" of ClusterRole \"cluster-admin\" to User \"alice\""}}`+"\n",
		time.Now().UTC().Format(time.RFC3339Nano), time.Now().UTC().Format(time.RFC3339Nano))
	if err := os.WriteFile(execLog, []byte(exec), 0o600); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(logPath)
	must("reading the audit log", err)
	if bytes.Contains(raw, []byte(secretValue)) {
		t.Fatal("the audit log holds the Secret's value: the policy must log Secrets at Metadata")
	}

	in, err := auditlog.Inputs([]string{logPath, execLog}, nil)
	must("inputs", err)
	r := auditlog.NewReader(in)
	a := auditlog.NewAnalyzer(auditlog.Options{
		BaselineUntil: baselineUntil,
		PodCIDRs:      []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		// The control plane and its controllers run on this host: it is the node.
		NodeCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	r.Filter = a.Wants // as the CLI reads
	must("reading", r.Each(ctx, func(e *auditlog.Event) error { a.Observe(e); return nil }))
	if p := r.Problems(); len(p) > 0 {
		t.Errorf("the API server's own log has problems: %v", p)
	}
	fs := a.Findings()
	t.Logf("%d events, %d findings", r.Stats().Events, len(fs))

	find := func(check string, match func(f finding.Finding) bool) *finding.Finding {
		for i := range fs {
			if fs[i].Check == check && match(fs[i]) {
				return &fs[i]
			}
		}
		return nil
	}
	by := func(user string) func(f finding.Finding) bool {
		return func(f finding.Finding) bool { return f.Evidence["user"] == user }
	}
	on := func(res string) func(f finding.Finding) bool {
		return func(f finding.Finding) bool { return f.Resource.String() == res }
	}
	want := []struct {
		check string
		match func(f finding.Finding) bool
		sev   finding.Severity
	}{
		{"audit-rbac-cluster-admin-binding", on("ClusterRoleBinding/alice-admin"), finding.Critical},
		{"audit-secret-list-all-namespaces", by("alice"), finding.High},
		{"audit-secret-read-unusual", on("shop/Secret/db"), finding.Medium},
		{"audit-privileged-pod-created", on("shop/Pod/root"), finding.High},
		{"audit-kube-system-pod-by-human", on("kube-system/Pod/debug"), finding.High},
		{"audit-clusterrole-wildcard", on("ClusterRole/everything"), finding.Critical},
		{"audit-admission-webhook-changed", on("ValidatingWebhookConfiguration/gate"), finding.High},
		{"audit-evidence-deleted", on("shop/Event/*"), finding.High},
		{"audit-anonymous-allowed", on("shop/Pod/*"), finding.High},
		{"audit-auth-failure-burst", on("SourceIP/127.0.0.1"), finding.Medium},
		{"audit-serviceaccount-token-outside-cluster", on("shop/ServiceAccount/api"), finding.High},
		// Into a pod this log saw created privileged: high.
		{"audit-pod-exec", on("shop/Pod/root[sh]"), finding.High},
	}
	for _, w := range want {
		f := find(w.check, w.match)
		if f == nil {
			t.Errorf("no %s finding", w.check)
			continue
		}
		if f.Severity != w.sev {
			t.Errorf("%s: severity %s, want %s", w.check, f.Severity, w.sev)
		}
		if id, _ := f.Evidence["auditID"].(string); id == "" || !strings.Contains(f.Message, id) {
			t.Errorf("%s: the message does not name the audit ID: %s", w.check, f.Message)
		}
		if ips, _ := f.Evidence["sourceIPs"].([]string); !slices.Contains(ips, "127.0.0.1") {
			t.Errorf("%s: evidence names source IPs %v, want 127.0.0.1", w.check, f.Evidence["sourceIPs"])
		}
	}
	// Only the stolen token is outside the ranges; the controllers' own tokens are used on the node.
	for _, f := range fs {
		if f.Check == "audit-serviceaccount-token-outside-cluster" && f.Resource.String() != "shop/ServiceAccount/api" {
			t.Errorf("a token used on the node was reported: %s", f.Message)
		}
		if f.Check == "audit-rbac-escalating-binding" {
			t.Errorf("the default policy's own binding was reported: %s", f.Message)
		}
	}
	// The admin read the Secret during the baseline: no finding.
	if f := find("audit-secret-read-unusual", by(testenv.AdminUser)); f != nil {
		t.Errorf("the baseline reader was reported: %s", f.Message)
	}
	if f := find("audit-rbac-cluster-admin-binding", on("ClusterRoleBinding/alice-admin")); f != nil && f.Evidence["user"] != testenv.AdminUser {
		t.Errorf("the binding is attributed to %v, want %s", f.Evidence["user"], testenv.AdminUser)
	}
	if t.Failed() || testing.Verbose() {
		for _, f := range fs {
			t.Logf("%s %s %s: %s", f.Severity, f.Check, f.Resource, f.Message)
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for RBAC to allow the request")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRealWebhookBackend points the API server's audit webhook backend (batch mode) at
// Webhook and checks that a binding to cluster-admin arrives as a finding.
func TestRealWebhookBackend(t *testing.T) {
	found := make(chan finding.Finding, 100)
	h := auditlog.NewWebhook(auditlog.Options{}, func(_ context.Context, fs []finding.Finding) {
		for _, f := range fs {
			select {
			case found <- f:
			default:
			}
		}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	webhookConfig := filepath.Join(dir, "audit-webhook.kubeconfig")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: redoubt
  cluster:
    server: %s
contexts:
- name: redoubt
  context: {cluster: redoubt, user: apiserver}
current-context: redoubt
users:
- name: apiserver
  user: {}
`, srv.URL)
	if err := os.WriteFile(webhookConfig, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testenv.ForTest(t, testenv.Options{APIServerFlags: map[string]string{
		"audit-policy-file":            policy,
		"audit-webhook-config-file":    webhookConfig,
		"audit-webhook-mode":           "batch",
		"audit-webhook-batch-max-wait": "1s",
	}})
	cfg, err := c.ConfigFor(testenv.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	admin := kubernetes.NewForConfigOrDie(cfg)
	_, err = admin.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: testenv.AliceUser}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case f := <-found:
			if f.Check == "audit-rbac-cluster-admin-binding" && f.Resource.Name == "alice-admin" {
				if f.Evidence["user"] != testenv.AdminUser {
					t.Errorf("attributed to %v", f.Evidence["user"])
				}
				return
			}
		case <-deadline:
			t.Fatal("no cluster-admin binding finding arrived over the webhook backend within 30s")
		}
	}
}
