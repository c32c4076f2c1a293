package access

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
)

func load(t *testing.T, docs string) *inventory.Snapshot {
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

// byCheck renders findings as "check resource" lines.
func byCheck(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check+" "+f.Resource.String())
	}
	slices.Sort(out)
	return out
}

func binding(kind, ns, name, roleKind, role string, subjects ...string) string {
	meta := "{name: " + name + "}"
	if ns != "" {
		meta = "{name: " + name + ", namespace: " + ns + "}"
	}
	return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata: " + meta +
		"\nsubjects: [" + strings.Join(subjects, ", ") + "]\nroleRef: {kind: " + roleKind + ", name: " + role + ", apiGroup: rbac.authorization.k8s.io}\n"
}

func role(kind, ns, name, rules string) string {
	meta := "{name: " + name + "}"
	if ns != "" {
		meta = "{name: " + name + ", namespace: " + ns + "}"
	}
	return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata: " + meta + "\nrules: " + rules + "\n"
}

func TestDangerousGrants(t *testing.T) {
	sa := func(ns, n string) string { return "{kind: ServiceAccount, name: " + n + ", namespace: " + ns + "}" }
	group := func(n string) string {
		return "{kind: Group, name: \"" + n + "\", apiGroup: rbac.authorization.k8s.io}"
	}
	tests := []struct {
		name string
		docs []string
		cfg  *config.Config
		want []string
	}{
		{"cluster-admin to a service account", []string{binding("ClusterRoleBinding", "", "ops", "ClusterRole", "cluster-admin", sa("tools", "ops"))}, nil,
			[]string{"rbac-cluster-admin ClusterRoleBinding/ops"}},
		{"cluster-admin to a break-glass group", []string{binding("ClusterRoleBinding", "", "breakglass", "ClusterRole", "cluster-admin", group("platform-oncall"))},
			&config.Config{BreakGlassGroups: []string{"platform-oncall"}}, nil},
		{"cluster-admin in one namespace is not cluster-admin", []string{binding("RoleBinding", "shop", "ns-admin", "ClusterRole", "cluster-admin", group("shop-devs"))}, nil,
			[]string{"rbac-create-workloads shop/RoleBinding/ns-admin", "rbac-escalate-bind-impersonate shop/RoleBinding/ns-admin",
				"rbac-exec-pods shop/RoleBinding/ns-admin", "rbac-read-secrets-namespace shop/RoleBinding/ns-admin", "rbac-serviceaccount-token-create shop/RoleBinding/ns-admin"}},
		{"secrets everywhere", []string{role("ClusterRole", "", "secret-reader", "[{apiGroups: [\"\"], resources: [secrets], verbs: [get, list]}]"),
			binding("ClusterRoleBinding", "", "secret-reader", "ClusterRole", "secret-reader", sa("tools", "backup"))}, nil,
			[]string{"rbac-read-secrets-cluster-wide ClusterRoleBinding/secret-reader"}},
		{"secrets in one namespace", []string{role("Role", "shop", "secret-reader", "[{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]"),
			binding("RoleBinding", "shop", "secret-reader", "Role", "secret-reader", sa("shop", "api"))}, nil,
			[]string{"rbac-read-secrets-namespace shop/RoleBinding/secret-reader"}},
		{"secrets in one namespace through a ClusterRole", []string{role("ClusterRole", "", "secret-reader", "[{apiGroups: [\"\"], resources: [secrets], verbs: [list]}]"),
			binding("RoleBinding", "shop", "secret-reader", "ClusterRole", "secret-reader", sa("shop", "api"))}, nil,
			[]string{"rbac-read-secrets-namespace shop/RoleBinding/secret-reader"}},
		{"named secrets in one namespace are not reported", []string{role("Role", "shop", "secret-reader", "[{apiGroups: [\"\"], resources: [secrets], verbs: [get], resourceNames: [api-tls]}]"),
			binding("RoleBinding", "shop", "secret-reader", "Role", "secret-reader", sa("shop", "api"))}, nil, nil},
		{"wildcard role", []string{role("Role", "shop", "everything", "[{apiGroups: [\"*\"], resources: [\"*\"], verbs: [get]}]")}, nil,
			[]string{"rbac-wildcard shop/Role/everything"}},
		{"exec, node proxy, CSR approval, webhooks, tokens, impersonation", []string{
			role("ClusterRole", "", "power", `[{apiGroups: [""], resources: [pods/exec], verbs: [create]},
  {apiGroups: [""], resources: [nodes/proxy], verbs: [get]},
  {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]},
  {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: [kubernetes.io/kube-apiserver-client]},
  {apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [patch]},
  {apiGroups: [""], resources: [serviceaccounts/token], verbs: [create]},
  {apiGroups: [""], resources: [users], verbs: [impersonate]}]`),
			binding("ClusterRoleBinding", "", "power", "ClusterRole", "power", group("ops"))}, nil,
			[]string{"rbac-approve-csr ClusterRoleBinding/power", "rbac-escalate-bind-impersonate ClusterRoleBinding/power",
				"rbac-exec-pods ClusterRoleBinding/power", "rbac-node-proxy ClusterRoleBinding/power",
				"rbac-serviceaccount-token-create ClusterRoleBinding/power", "rbac-webhook-config-write ClusterRoleBinding/power"}},
		{"patching CSR approval without approve on a signer approves nothing", []string{
			role("ClusterRole", "", "janitor", `[{apiGroups: ["*"], resources: ["*"], verbs: [get, patch, delete]}]`),
			binding("ClusterRoleBinding", "", "janitor", "ClusterRole", "janitor", group("ops"))}, nil,
			[]string{"rbac-create-workloads ClusterRoleBinding/janitor", "rbac-exec-pods ClusterRoleBinding/janitor",
				"rbac-node-proxy ClusterRoleBinding/janitor", "rbac-read-secrets-cluster-wide ClusterRoleBinding/janitor",
				"rbac-webhook-config-write ClusterRoleBinding/janitor", "rbac-wildcard ClusterRole/janitor"}},
		{"approve on signers of a whole domain, with the approval subresource", []string{
			role("ClusterRole", "", "approver", `[{apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [patch]},
  {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: ["kubernetes.io/*"]}]`),
			binding("ClusterRoleBinding", "", "approver", "ClusterRole", "approver", group("ops"))}, nil,
			[]string{"rbac-approve-csr ClusterRoleBinding/approver"}},
		{"approve on a signer alone approves nothing", []string{
			role("ClusterRole", "", "signer", `[{apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve]}]`),
			binding("ClusterRoleBinding", "", "signer", "ClusterRole", "signer", group("ops"))}, nil, nil},
		{"names limit a rule", []string{role("ClusterRole", "", "one", "[{apiGroups: [\"\"], resources: [secrets], verbs: [get], resourceNames: [ca-bundle]}]"),
			binding("ClusterRoleBinding", "", "one", "ClusterRole", "one", group("ops"))}, nil, nil},
		{"default service account", []string{binding("RoleBinding", "shop", "view", "ClusterRole", "view", sa("shop", "default"))}, nil,
			[]string{"rbac-default-service-account-bound shop/RoleBinding/view"}},
		{"anonymous", []string{binding("ClusterRoleBinding", "", "open", "ClusterRole", "view", group("system:unauthenticated"))}, nil,
			[]string{"rbac-anonymous-grant ClusterRoleBinding/open"}},
		{"a missing role grants nothing", []string{binding("ClusterRoleBinding", "", "ghost", "ClusterRole", "no-such-role", group("system:unauthenticated"))}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Run(load(t, strings.Join(tt.docs, "---\n")), tt.cfg)
			if got := byCheck(fs); !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
				for _, f := range fs {
					t.Log(f.Message)
				}
			}
			for _, f := range fs {
				if f.Location.File == "" || f.Location.Line == 0 || len(f.References) == 0 {
					t.Errorf("%s: incomplete finding: %+v %v", f.Check, f.Location, f.References)
				}
			}
		})
	}
}

// Manifests that name no namespace go to default (or -n); bindings that name service accounts
// in a namespace no scanned object is in then reach nothing, and the user is told so.
func TestSubjectNamespaceNotScanned(t *testing.T) {
	sa := func(ns, n string) string { return "{kind: ServiceAccount, name: " + n + ", namespace: " + ns + "}" }
	account := func(ns, name string) string {
		meta := "{name: " + name + "}"
		if ns != "" {
			meta = "{name: " + name + ", namespace: " + ns + "}"
		}
		return "apiVersion: v1\nkind: ServiceAccount\nmetadata: " + meta + "\n"
	}
	tests := []struct {
		name string
		docs []string
		want []string
	}{
		{"argo-cd's install.yaml: no namespaces, subjects in argocd", []string{
			account("", "argocd-application-controller"), account("", "argocd-server"),
			binding("ClusterRoleBinding", "", "argocd-application-controller", "ClusterRole", "cluster-admin", sa("argocd", "argocd-application-controller")),
			binding("ClusterRoleBinding", "", "argocd-server", "ClusterRole", "view", sa("argocd", "argocd-server"))},
			[]string{`ClusterRoleBinding/argocd-application-controller: bindings name service accounts in namespace "argocd" (argocd/argocd-application-controller, argocd/argocd-server), but no scanned object is in it, and 2 objects that name no namespace were put in "default", among them service accounts of those names: the bindings reach none of them; if the manifests are meant for "argocd", scan with -n argocd`}},
		{"everything names its namespace", []string{
			account("argocd", "argocd-server"),
			binding("ClusterRoleBinding", "", "argocd-server", "ClusterRole", "view", sa("argocd", "argocd-server"))}, nil},
		{"a subject outside the manifests, all of which name their namespace", []string{
			account("shop", "web"),
			binding("RoleBinding", "shop", "dns-reader", "ClusterRole", "view", sa("kube-system", "coredns"))}, nil},
		{"a subject in the namespace objects went to", []string{
			account("", "web"),
			binding("RoleBinding", "", "web", "ClusterRole", "view", sa("default", "web"))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range Run(load(t, strings.Join(tt.docs, "---\n")), nil) {
				if f.Check == "rbac-subject-namespace-not-scanned" {
					got = append(got, f.Resource.String()+": "+f.Message)
					if f.Location.File == "" || f.Location.Line == 0 {
						t.Errorf("no location: %+v", f.Location)
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// The example's one dangerous grant is log-shipper's cluster-admin; Kubernetes' own defaults,
// which the policy adds for manifests, report nothing.
func TestExample(t *testing.T) {
	s, err := manifest.Load(context.Background(), []string{"../../examples/shop"}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := Run(s, nil)
	if got, want := byCheck(fs), []string{"rbac-cluster-admin ClusterRoleBinding/log-shipper-admin"}; !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	sums := s.Summaries()
	Summarize(s, sums)
	for _, sum := range sums {
		switch sum.Name {
		case "log-shipper":
			if !slices.Equal(sum.Access, []string{"cluster-admin", "escalate", "node-access", "run-workloads", "read-secrets", "cluster-wide"}) {
				t.Errorf("log-shipper access %v", sum.Access)
			}
		default:
			if len(sum.Access) != 0 {
				t.Errorf("%s access %v, want none", sum.Name, sum.Access)
			}
		}
	}
}
