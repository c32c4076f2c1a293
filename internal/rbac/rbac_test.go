package rbac

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
)

func rule(verbs, groups, resources []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

func l(s ...string) []string { return s }

func TestRuleAllows(t *testing.T) {
	tests := []struct {
		name string
		rule rbacv1.PolicyRule
		req  Request
		want bool
	}{
		{"exact", rule(l("get"), l(""), l("pods")), Request{Verb: "get", Resource: "pods"}, true},
		{"other verb", rule(l("get"), l(""), l("pods")), Request{Verb: "list", Resource: "pods"}, false},
		{"other group", rule(l("get"), l("apps"), l("pods")), Request{Verb: "get", Resource: "pods"}, false},
		{"verb wildcard", rule(l("*"), l(""), l("pods")), Request{Verb: "escalate", Resource: "pods"}, true},
		{"resource wildcard covers subresources", rule(l("get"), l(""), l("*")), Request{Verb: "get", Resource: "pods", Subresource: "exec"}, true},
		{"resource without subresource", rule(l("create"), l(""), l("pods")), Request{Verb: "create", Resource: "pods", Subresource: "exec"}, false},
		{"*/subresource", rule(l("get"), l(""), l("*/status")), Request{Verb: "get", Resource: "pods", Subresource: "status"}, true},
		{"*/subresource is not the resource", rule(l("get"), l(""), l("*/status")), Request{Verb: "get", Resource: "pods"}, false},
		// The authorizer has no resource/* form: pods/* names nothing.
		{"resource/* is literal", rule(l("create"), l(""), l("pods/*")), Request{Verb: "create", Resource: "pods", Subresource: "exec"}, false},
		{"resource name", rbacv1.PolicyRule{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a")},
			Request{Verb: "get", Resource: "secrets", Name: "a"}, true},
		{"resource names need a name", rbacv1.PolicyRule{Verbs: l("list"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a")},
			Request{Verb: "list", Resource: "secrets"}, false},
		{"non-resource exact", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz")}, Request{Verb: "get", Path: "/healthz"}, true},
		{"non-resource prefix", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz/*")}, Request{Verb: "get", Path: "/healthz/etcd"}, true},
		{"non-resource prefix excludes its root", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz/*")}, Request{Verb: "get", Path: "/healthz"}, false},
		{"resource rule does not match a path", rule(l("*"), l("*"), l("*")), Request{Verb: "get", Path: "/metrics"}, false},
	}
	for _, tt := range tests {
		if got := RuleAllows(&tt.rule, tt.req); got != tt.want {
			t.Errorf("%s: RuleAllows = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func loadYAML(t *testing.T, docs string) *inventory.Snapshot {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rbac.yaml")
	if err := os.WriteFile(p, []byte(docs), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := manifest.Load(context.Background(), []string{p}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range s.Problems {
		t.Fatal(pr)
	}
	return s
}

const policyYAML = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: team}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: team}
subjects:
  - {kind: ServiceAccount, name: app}            # namespace defaults to the binding's
  - {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: Role, name: reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: orphan-sa}
subjects: [{kind: ServiceAccount, name: nobody}] # no namespace in a ClusterRoleBinding: names nobody
roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {example.com/aggregate-to-monitoring: "true"}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: metrics-reader, labels: {example.com/aggregate-to-monitoring: "true"}}
rules: [{apiGroups: [""], resources: [nodes/metrics], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: monitoring}
subjects: [{kind: Group, name: monitors, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: monitoring, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: team}
subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: team}
subjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: does-not-exist, apiGroup: rbac.authorization.k8s.io}
`

func TestAuthorizeManifests(t *testing.T) {
	p := NewPolicy(loadYAML(t, policyYAML), Options{})
	alice := User{Name: "alice", Groups: l("system:authenticated")}
	app := ServiceAccountUser("team", "app")
	dev := User{Name: "dora", Groups: l("devs", "system:authenticated")}
	monitor := User{Name: "mo", Groups: l("monitors", "system:authenticated")}
	bob := User{Name: "bob", Groups: l("system:authenticated")}
	root := User{Name: "root", Groups: l(MastersGroup)}
	tests := []struct {
		name string
		user User
		req  Request
		want bool
	}{
		{"role in its namespace", alice, Request{Verb: "get", Resource: "configmaps", Namespace: "team"}, true},
		{"role elsewhere", alice, Request{Verb: "get", Resource: "configmaps", Namespace: "other"}, false},
		{"role across namespaces", alice, Request{Verb: "get", Resource: "configmaps"}, false},
		{"service account without namespace in a RoleBinding", app, Request{Verb: "get", Resource: "configmaps", Namespace: "team"}, true},
		{"service account without namespace in a ClusterRoleBinding", ServiceAccountUser("default", "nobody"), Request{Verb: "get", Resource: "secrets"}, false},
		{"aggregated role", monitor, Request{Verb: "get", Resource: "nodes", Subresource: "metrics"}, true},
		{"default view role through a RoleBinding", dev, Request{Verb: "list", Resource: "pods", Namespace: "team"}, true},
		{"view does not read secrets", dev, Request{Verb: "get", Resource: "secrets", Namespace: "team"}, false},
		{"missing role grants nothing", bob, Request{Verb: "get", Resource: "configmaps", Namespace: "team"}, false},
		{"every authenticated user may discover", bob, Request{Verb: "get", Path: "/version"}, true},
		{"system:masters", root, Request{Verb: "delete", Resource: "nodes"}, true},
	}
	for _, tt := range tests {
		d := p.Authorize(tt.user, tt.req)
		if d.Allowed != tt.want {
			t.Errorf("%s: %s by %s: allowed %v, want %v", tt.name, tt.req, tt.user.Name, d.Allowed, tt.want)
		}
		if got := Covers(p.WhoCan(tt.req), tt.user); got != tt.want {
			t.Errorf("%s: who-can covers %s: %v, want %v", tt.name, tt.user.Name, got, tt.want)
		}
	}
}

func TestBuiltInAndImplied(t *testing.T) {
	p := NewPolicy(loadYAML(t, policyYAML), Options{})
	if r := p.ClusterRole("cluster-admin"); r == nil || !r.Implied || !r.BuiltIn {
		t.Errorf("cluster-admin for manifests: %+v, want the implied default", r)
	}
	for _, b := range p.Bindings {
		switch b.Name {
		case "system:basic-user":
			if !b.Implied || !b.BuiltIn {
				t.Errorf("%s: implied %v built-in %v", b, b.Implied, b.BuiltIn)
			}
		case "reader", "monitoring":
			if b.BuiltIn || b.Implied {
				t.Errorf("%s is the user's own binding, not built in", b)
			}
		case "dangling":
			if !b.RoleMissing {
				t.Errorf("%s: role should be missing", b)
			}
		}
	}
	// A binding named like a default but changed is not built in.
	s := loadYAML(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:basic-user", labels: {kubernetes.io/bootstrapping: rbac-defaults}}
subjects: [{kind: Group, name: "system:unauthenticated", apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
`)
	for _, b := range NewPolicy(s, Options{}).Bindings {
		if b.Name == "system:basic-user" && (b.BuiltIn || b.Implied) {
			t.Errorf("a changed system:basic-user is treated as the default: built-in %v implied %v", b.BuiltIn, b.Implied)
		}
	}
}

func TestCapabilities(t *testing.T) {
	s := loadYAML(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admin}
subjects: [{kind: ServiceAccount, name: ops, namespace: tools}]
roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: shop}
rules:
  - {apiGroups: [apps], resources: [deployments], verbs: [create, update]}
  - {apiGroups: [""], resources: [secrets], verbs: [list]}
  - {apiGroups: [""], resources: [configmaps], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: shop}
subjects: [{kind: ServiceAccount, name: ci, namespace: tools}]
roleRef: {kind: Role, name: deployer, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonator}
rules: [{apiGroups: [""], resources: [users], verbs: [impersonate]}, {apiGroups: [""], resources: [nodes/proxy], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: impersonator}
subjects: [{kind: ServiceAccount, name: proxy, namespace: tools}]
roleRef: {kind: ClusterRole, name: impersonator, apiGroup: rbac.authorization.k8s.io}
`)
	p := NewPolicy(s, Options{})
	tests := map[string][]string{
		"ops":   {"cluster-admin", "escalate", "node-access", "run-workloads", "read-secrets", "cluster-wide"},
		"ci":    {"run-workloads in shop", "read-secrets in shop"},
		"proxy": {"escalate", "node-access", "cluster-wide"},
		"plain": nil,
	}
	for sa, want := range tests {
		var got []string
		for _, r := range p.CapabilitiesOf(ServiceAccountUser("tools", sa)) {
			got = append(got, r.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", sa, got, want)
		}
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in       string
		user     string
		groups   []string
		kind     string
		hasError bool
	}{
		{"user:alice", "alice", l("dev", "system:authenticated"), "User", false},
		{"alice", "alice", l("dev", "system:authenticated"), "User", false},
		{"group:ops", "", l("ops"), "Group", false},
		{"sa:shop/api", "system:serviceaccount:shop:api", l("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"), "ServiceAccount", false},
		{"system:serviceaccount:shop:api", "system:serviceaccount:shop:api", l("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"), "ServiceAccount", false},
		{"system:kube-scheduler", "system:kube-scheduler", l("dev", "system:authenticated"), "User", false},
		// NAMESPACE/NAME is a service account, as netpol spells workloads; user:a/b stays a user.
		{"shop/api", "system:serviceaccount:shop:api", l("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"), "ServiceAccount", false},
		{"user:a/b", "a/b", l("dev", "system:authenticated"), "User", false},
		{"sa:shop", "", nil, "", true},
		{"robot:x", "", nil, "", true},
	}
	for _, tt := range tests {
		u, s, err := ParseSubject(tt.in, l("dev"))
		if (err != nil) != tt.hasError {
			t.Errorf("%s: error %v", tt.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if tt.kind == "Group" {
			tt.groups = l("ops")
		}
		if u.Name != tt.user || !slices.Equal(u.Groups, tt.groups) || s.Kind != tt.kind {
			t.Errorf("%s: user %q groups %v kind %s", tt.in, u.Name, u.Groups, s.Kind)
		}
	}
	r, err := ParseRequest("update", "certificatesigningrequests.certificates.k8s.io/approval", "", "", "")
	if err != nil || r.Resource != "certificatesigningrequests" || r.APIGroup != "certificates.k8s.io" || r.Subresource != "approval" {
		t.Errorf("ParseRequest: %+v, %v", r, err)
	}
	if WildcardNote(rule(l("*"), l("*"), l("*"))) == "" || !strings.Contains(WildcardNote(rule(l("*"), l(""), l("pods"))), "escalate") {
		t.Error("wildcards are not spelled out")
	}
}
