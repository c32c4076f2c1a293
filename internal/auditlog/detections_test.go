package auditlog

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
)

// event renders one audit event line in the shape the API server writes (Metadata level unless
// body is given), at second sec of 2026-12-01T10:00.
func event(id string, sec int, verb, user, uri, objectRef string, code int, extra string) string {
	level := "Metadata"
	if strings.Contains(extra, "requestObject") {
		level = "Request"
	}
	ts := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second).Format(time.RFC3339Nano)
	obj := ""
	if objectRef != "" {
		obj = `"objectRef":` + objectRef + `,`
	}
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":%q,"auditID":%q,"stage":"ResponseComplete",`+
		`"requestURI":%q,"verb":%q,"user":{"username":%q,"groups":["system:authenticated"]},"sourceIPs":["192.0.2.10"],`+
		`"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/abc1234",%s"responseStatus":{"metadata":{},"code":%d},`+
		`"requestReceivedTimestamp":%q,"stageTimestamp":%q%s}`,
		level, id, uri, verb, user, obj, code, ts, ts, extra)
}

func decodeAll(t *testing.T, lines []string) []*Event {
	t.Helper()
	var out []*Event
	for i, l := range lines {
		evs, err := DecodeLine([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, l)
		}
		out = append(out, evs...)
	}
	return out
}

const privilegedPodBody = `"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"root","namespace":"shop"},` +
	`"spec":{"hostPID":true,"containers":[{"name":"sh","image":"debian","securityContext":{"privileged":true}}]}}`

func TestDetections(t *testing.T) {
	podExecRef := `{"resource":"pods","namespace":"%s","name":"%s","subresource":"exec","apiVersion":"v1"}`
	cases := []struct {
		name   string
		opts   Options
		events []string
		// want lists check@severity@resource of every finding, in sorted order.
		want []string
		// message must appear in the first finding's message.
		message string
	}{
		{
			name: "exec into an ordinary pod, with the command",
			events: []string{event("e1", 0, "get", "alice", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh&command=-c&command=id&container=web&stdin=true&stdout=true&tty=true",
				fmt.Sprintf(podExecRef, "shop", "web-0"), 101, "")},
			want:    []string{"audit-pod-exec@medium@shop/Pod/web-0[web]"},
			message: `exec into pod shop/web-0 (container web): sh -c id; user "alice" from 192.0.2.10 with "kubectl/v1.37.2`,
		},
		{
			name: "exec in kube-system is high",
			events: []string{event("e1", 0, "create", "alice", "/api/v1/namespaces/kube-system/pods/etcd-0/exec?command=sh",
				fmt.Sprintf(podExecRef, "kube-system", "etcd-0"), 101, "")},
			want: []string{"audit-pod-exec@high@kube-system/Pod/etcd-0"},
		},
		{
			name: "exec into a pod seen created privileged is high",
			events: []string{
				event("c1", 0, "create", "bob", "/api/v1/namespaces/shop/pods", `{"resource":"pods","namespace":"shop","name":"root","apiVersion":"v1"}`, 201, privilegedPodBody),
				event("e1", 5, "create", "alice", "/api/v1/namespaces/shop/pods/root/exec?command=bash", fmt.Sprintf(podExecRef, "shop", "root"), 101, ""),
			},
			want: []string{"audit-pod-exec@high@shop/Pod/root", "audit-privileged-pod-created@high@shop/Pod/root"},
		},
		{
			name: "refused exec is no exec finding",
			events: []string{event("e1", 0, "create", "alice", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh",
				fmt.Sprintf(podExecRef, "shop", "web-0"), 403, "")},
		},
		{
			name: "repeated exec is one finding with a count",
			events: []string{
				event("e1", 0, "create", "alice", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh", fmt.Sprintf(podExecRef, "shop", "web-0"), 101, ""),
				event("e2", 9, "create", "alice", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh", fmt.Sprintf(podExecRef, "shop", "web-0"), 101, ""),
			},
			want:    []string{"audit-pod-exec@medium@shop/Pod/web-0"},
			message: "(2 times, last 2026-12-01T10:00:09Z, audit ID e2)",
		},
		{
			name: "secret reads: baseline readers pass, a new reader is reported",
			opts: Options{BaselineWindow: time.Minute},
			events: []string{
				event("s1", 0, "get", "system:serviceaccount:shop:api", "/api/v1/namespaces/shop/secrets/db", `{"resource":"secrets","namespace":"shop","name":"db","apiVersion":"v1"}`, 200, ""),
				event("s2", 120, "get", "system:serviceaccount:shop:api", "/api/v1/namespaces/shop/secrets/db", `{"resource":"secrets","namespace":"shop","name":"db","apiVersion":"v1"}`, 200, ""),
				event("s3", 130, "list", "alice", "/api/v1/namespaces/shop/secrets", `{"resource":"secrets","namespace":"shop","apiVersion":"v1"}`, 200, ""),
				event("s4", 140, "get", "system:node:n1", "/api/v1/namespaces/shop/secrets/db", `{"resource":"secrets","namespace":"shop","name":"db","apiVersion":"v1"}`, 200, ""),
			},
			want: []string{"audit-secret-read-unusual@high@shop/Secret/*"},
		},
		{
			name: "secrets listed across all namespaces",
			events: []string{event("l1", 0, "list", "alice", "/api/v1/secrets?limit=500", `{"resource":"secrets","apiVersion":"v1"}`, 200, ""),
				event("l2", 1, "list", "system:kube-controller-manager", "/api/v1/secrets", `{"resource":"secrets","apiVersion":"v1"}`, 200, "")},
			want: []string{"audit-secret-list-all-namespaces@high@Secret/*"},
		},
		{
			name: "anonymous: health endpoints pass, a pod list is reported",
			events: []string{
				event("a1", 0, "get", "system:anonymous", "/healthz", "", 200, ""),
				event("a2", 1, "get", "system:anonymous", "/version?timeout=32s", "", 200, ""),
				event("a3", 2, "list", "system:anonymous", "/api/v1/namespaces/shop/pods", `{"resource":"pods","namespace":"shop","apiVersion":"v1"}`, 200, ""),
				event("a4", 3, "list", "system:anonymous", "/api/v1/namespaces/shop/secrets", `{"resource":"secrets","namespace":"shop","apiVersion":"v1"}`, 403, ""),
			},
			want: []string{"audit-anonymous-allowed@high@shop/Pod/*"},
		},
		{
			name: "401 burst from one address",
			opts: Options{BurstThreshold: 5, BurstWindow: 10 * time.Second},
			events: func() []string {
				var out []string
				for i := range 12 {
					out = append(out, event(fmt.Sprintf("b%d", i), i, "list", "", "/api/v1/pods", `{"resource":"pods","apiVersion":"v1"}`, 401, ""))
				}
				return out
			}(),
			// 12 failures within the window make two bursts of five (the last two do not).
			want:    []string{"audit-auth-failure-burst@medium@SourceIP/192.0.2.10"},
			message: "(2 times",
		},
		{
			name: "slow failures are no burst",
			opts: Options{BurstThreshold: 5, BurstWindow: 10 * time.Second},
			events: func() []string {
				var out []string
				for i := range 12 {
					out = append(out, event(fmt.Sprintf("b%d", i), i*5, "list", "", "/api/v1/pods", `{"resource":"pods","apiVersion":"v1"}`, 401, ""))
				}
				return out
			}(),
		},
		{
			name: "privileged Deployment template",
			events: []string{event("d1", 0, "create", "alice", "/apis/apps/v1/namespaces/shop/deployments", `{"resource":"deployments","namespace":"shop","name":"agent","apiGroup":"apps","apiVersion":"v1"}`, 201,
				`"requestObject":{"kind":"Deployment","metadata":{"name":"agent"},"spec":{"template":{"spec":{"hostNetwork":true,"containers":[{"name":"a","image":"x"}]}}}}`)},
			want: []string{"audit-privileged-pod-created@high@shop/Deployment/agent"},
		},
		{
			name: "pod in kube-system by a person, not by a controller",
			events: []string{
				event("k1", 0, "create", "alice", "/api/v1/namespaces/kube-system/pods", `{"resource":"pods","namespace":"kube-system","name":"debug","apiVersion":"v1"}`, 201, ""),
				event("k2", 1, "create", "system:serviceaccount:kube-system:daemon-set-controller", "/api/v1/namespaces/kube-system/pods", `{"resource":"pods","namespace":"kube-system","name":"proxy-x1","apiVersion":"v1"}`, 201, ""),
			},
			want: []string{"audit-kube-system-pod-by-human@high@kube-system/Pod/debug"},
		},
		{
			name: "binding to cluster-admin, impersonated",
			events: []string{strings.Replace(event("r1", 0, "create", "mallory", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
				`{"resource":"clusterrolebindings","name":"alice-admin","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}`, 201,
				`"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"alice-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"alice"}]}`),
				`"sourceIPs"`, `"impersonatedUser":{"username":"ops"},"sourceIPs"`, 1)},
			want:    []string{"audit-rbac-cluster-admin-binding@critical@ClusterRoleBinding/alice-admin"},
			message: `ClusterRoleBinding alice-admin binds User:alice to cluster-admin over the whole cluster; user "ops" (impersonated by "mallory")`,
		},
		{
			name: "wildcard ClusterRole, then a binding to it",
			events: []string{
				event("w1", 0, "create", "alice", "/apis/rbac.authorization.k8s.io/v1/clusterroles", `{"resource":"clusterroles","name":"god","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}`, 201,
					`"requestObject":{"kind":"ClusterRole","metadata":{"name":"god"},"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}`),
				event("w2", 1, "create", "alice", "/apis/rbac.authorization.k8s.io/v1/clusterroles", `{"resource":"clusterroles","name":"impersonator","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}`, 201,
					`"requestObject":{"kind":"ClusterRole","metadata":{"name":"impersonator"},"rules":[{"apiGroups":[""],"resources":["users"],"verbs":["impersonate"]}]}`),
				event("w3", 2, "create", "alice", "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings", `{"resource":"rolebindings","namespace":"shop","name":"imp","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}`, 201,
					`"requestObject":{"kind":"RoleBinding","metadata":{"name":"imp"},"roleRef":{"kind":"ClusterRole","name":"impersonator"},"subjects":[{"kind":"ServiceAccount","namespace":"shop","name":"ci"}]}`),
			},
			want: []string{"audit-clusterrole-wildcard@critical@ClusterRole/god", "audit-rbac-escalating-binding@high@shop/RoleBinding/imp"},
		},
		{
			name: "webhook deleted, webhook set to fail open",
			events: []string{
				event("h1", 0, "delete", "alice", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/redoubt", `{"resource":"validatingwebhookconfigurations","name":"redoubt","apiGroup":"admissionregistration.k8s.io","apiVersion":"v1"}`, 200, ""),
				event("h2", 1, "update", "alice", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/gate", `{"resource":"validatingwebhookconfigurations","name":"gate","apiGroup":"admissionregistration.k8s.io","apiVersion":"v1"}`, 200,
					`"requestObject":{"kind":"ValidatingWebhookConfiguration","metadata":{"name":"gate"},"webhooks":[{"name":"gate.example.com","failurePolicy":"Ignore"}]}`),
			},
			want: []string{"audit-admission-webhook-changed@high@ValidatingWebhookConfiguration/gate", "audit-admission-webhook-changed@high@ValidatingWebhookConfiguration/redoubt"},
		},
		{
			name: "service-account token from outside the ranges",
			opts: Options{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}, NodeCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}},
			events: []string{
				event("t1", 0, "list", "system:serviceaccount:shop:api", "/api/v1/namespaces/shop/pods", `{"resource":"pods","namespace":"shop","apiVersion":"v1"}`, 200, ""),
				strings.Replace(event("t2", 1, "list", "system:serviceaccount:shop:api", "/api/v1/namespaces/shop/pods", `{"resource":"pods","namespace":"shop","apiVersion":"v1"}`, 200, ""), "192.0.2.10", "10.244.3.7", 1),
			},
			want:    []string{"audit-serviceaccount-token-outside-cluster@high@shop/ServiceAccount/api"},
			message: "token of service account shop:api used from 192.0.2.10",
		},
		{
			name: "no ranges given: the token detection is off",
			events: []string{
				event("t1", 0, "list", "system:serviceaccount:shop:api", "/api/v1/namespaces/shop/pods", `{"resource":"pods","namespace":"shop","apiVersion":"v1"}`, 200, ""),
			},
		},
		{
			name: "events deleted by a person; by the control plane they are not",
			events: []string{
				event("x1", 0, "deletecollection", "alice", "/api/v1/namespaces/shop/events", `{"resource":"events","namespace":"shop","apiVersion":"v1"}`, 200, ""),
				event("x2", 1, "delete", "system:kube-controller-manager", "/api/v1/namespaces/shop/events/e1", `{"resource":"events","namespace":"shop","name":"e1","apiVersion":"v1"}`, 200, ""),
				event("x3", 2, "delete", "alice", "/apis/apps/v1/namespaces/redoubt-system/deployments/redoubt", `{"resource":"deployments","namespace":"redoubt-system","name":"redoubt","apiGroup":"apps","apiVersion":"v1"}`, 200, ""),
			},
			want: []string{"audit-evidence-deleted@high@redoubt-system/Deployment/redoubt", "audit-evidence-deleted@high@shop/Event/*"},
		},
		{
			name: "only the final stage counts",
			events: []string{strings.Replace(event("e1", 0, "create", "alice", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh",
				fmt.Sprintf(podExecRef, "shop", "web-0"), 101, ""), "ResponseComplete", "ResponseStarted", 1)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Analyze(context.Background(), decodeAll(t, tc.events), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%s@%s@%s", f.Check, f.Severity, f.Resource))
			}
			// The reader's filter (Wants) must never drop an event a detection needs.
			filtered := NewAnalyzer(tc.opts)
			for i, l := range tc.events {
				if i == 0 || filtered.Wants([]byte(l)) {
					for _, e := range decodeAll(t, []string{l}) {
						filtered.Observe(e)
					}
				}
			}
			if n := len(filtered.Findings()); n != len(fs) {
				t.Errorf("with the reader's filter, %d findings; without, %d", n, len(fs))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tc.message != "" && !strings.Contains(fs[0].Message, tc.message) {
				t.Errorf("message %q\nwant it to contain %q", fs[0].Message, tc.message)
			}
			for _, f := range fs {
				if f.Evidence["auditID"] == "" || f.Evidence["user"] == nil || f.Evidence["verb"] == "" {
					t.Errorf("%s: evidence lacks audit ID, user or verb: %v", f.Check, f.Evidence)
				}
				if !strings.Contains(f.Message, "audit ID ") {
					t.Errorf("%s: message names no audit ID: %s", f.Check, f.Message)
				}
				if f.Phase != finding.PhaseRuntime {
					t.Errorf("%s: phase %s", f.Check, f.Phase)
				}
			}
		})
	}
}

func TestMaxFindingsBoundsMemory(t *testing.T) {
	a := NewAnalyzer(Options{MaxFindings: 10})
	for i := range 100 {
		evs := decodeAll(t, []string{event(fmt.Sprint(i), i, "create", "alice",
			fmt.Sprintf("/api/v1/namespaces/shop/pods/web-%d/exec?command=sh", i),
			fmt.Sprintf(`{"resource":"pods","namespace":"shop","name":"web-%d","subresource":"exec"}`, i), 101, "")})
		a.Observe(evs[0])
	}
	if n := len(a.Findings()); n != 10 {
		t.Errorf("%d findings kept, want the cap of 10", n)
	}
	if a.Dropped() != 90 {
		t.Errorf("dropped %d, want 90", a.Dropped())
	}
}
