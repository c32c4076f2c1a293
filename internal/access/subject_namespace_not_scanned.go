package access

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/rbac"
)

// rbacSubjectNamespaceNotScanned reports, for manifests, bindings whose ServiceAccount subjects
// live in a namespace that no scanned object is in, when objects that name no namespace were
// put in the default one (default, or -n). Installs such as argo-cd's install.yaml leave
// metadata.namespace unset and expect `kubectl apply -n argocd`, while their bindings name
// argocd/...: scanned without -n, the service accounts land in default, the bindings reach
// nobody, and every grant (cluster-admin included) silently drops out of the access summary and
// the risk ranking. One finding per namespace, at the first binding that names it.
var rbacSubjectNamespaceNotScanned = register(finding.Rule{
	ID:          "rbac-subject-namespace-not-scanned",
	Title:       "Bindings name service accounts in a namespace nothing was scanned in",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Info,
	Description: "Bindings name service accounts in a namespace that no scanned object is in, while objects that name no namespace were put in the default namespace. If those objects are meant for the bindings' namespace (applied with kubectl apply -n), the bindings reach none of them and the access and risk analyses miss what they grant.",
	Remediation: "Scan with -n NAMESPACE (the namespace the manifests are applied to), or set metadata.namespace in the manifests.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	s := c.Snapshot
	if s.Defaulted == 0 || s.Source.Kind != inventory.SourceManifests {
		return nil
	}
	used := namespacesWithObjects(s)
	type group struct {
		first    *rbac.Binding
		bindings []string
		accounts []string
	}
	groups := map[string]*group{}
	for _, b := range c.Policy.Bindings {
		if !reported(b) {
			continue
		}
		for _, sub := range b.Subjects {
			if sub.Kind != rbacv1.ServiceAccountKind {
				continue
			}
			ns := sub.Namespace
			if ns == "" && !b.ClusterWide() {
				ns = b.Namespace
			}
			if ns == "" || used[ns] {
				continue
			}
			g := groups[ns]
			if g == nil {
				g = &group{first: b}
				groups[ns] = g
			} else if earlier(b.Origin, g.first.Origin) {
				g.first = b
			}
			g.bindings = append(g.bindings, b.String())
			g.accounts = append(g.accounts, ns+"/"+sub.Name)
		}
	}
	var out []finding.Finding
	for _, ns := range sortedKeys(groups) {
		g := groups[ns]
		accounts := compact(g.accounts)
		among := ""
		if sameNamedAccounts(s, accounts) {
			among = ", among them service accounts of those names"
		}
		f := c.bindingFinding(rule, g.first, fmt.Sprintf("bindings name service accounts in namespace %q (%s), but no scanned object is in it, and %d objects that name no namespace were put in %q%s: the bindings reach none of them; if the manifests are meant for %q, scan with -n %s",
			ns, strings.Join(accounts, ", "), s.Defaulted, s.DefaultNamespace, among, ns, ns))
		f.Evidence["namespace"] = ns
		f.Evidence["bindings"] = compact(g.bindings)
		f.Evidence["serviceAccounts"] = accounts
		f.Evidence["defaultedObjects"] = s.Defaulted
		out = append(out, f)
	}
	return out
})

// namespacesWithObjects are the namespaces some namespaced object of the snapshot is in.
func namespacesWithObjects(s *inventory.Snapshot) map[string]bool {
	used := map[string]bool{}
	for _, x := range s.Workloads {
		used[x.Namespace] = true
	}
	for _, x := range s.Services {
		used[x.Namespace] = true
	}
	for _, x := range s.ServiceAccounts {
		used[x.Namespace] = true
	}
	for _, x := range s.NetworkPolicies {
		used[x.Namespace] = true
	}
	for _, x := range s.Ingresses {
		used[x.Namespace] = true
	}
	for _, x := range s.Roles {
		used[x.Namespace] = true
	}
	for _, x := range s.RoleBindings {
		used[x.Namespace] = true
	}
	for _, x := range s.ConfigMaps {
		used[x.Namespace] = true
	}
	for _, x := range s.Secrets {
		used[x.Namespace] = true
	}
	for _, x := range s.Others {
		if x.Namespace != "" {
			used[x.Namespace] = true
		}
	}
	return used
}

// sameNamedAccounts reports whether service accounts of the same names as any of the
// namespace/name accounts are in the default namespace the snapshot put objects in.
func sameNamedAccounts(s *inventory.Snapshot, accounts []string) bool {
	for _, a := range accounts {
		_, name, _ := strings.Cut(a, "/")
		for _, sa := range s.ServiceAccounts {
			if sa.Namespace == s.DefaultNamespace && sa.Name == name {
				return true
			}
		}
	}
	return false
}

func earlier(a, b inventory.Origin) bool {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) < 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
