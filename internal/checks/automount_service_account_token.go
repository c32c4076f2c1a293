package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// automountServiceAccountToken forbids mounting a service-account token into pods that need no
// access to the Kubernetes API. The token is mounted unless the pod spec, or else the service
// account, sets automountServiceAccountToken: false. A workload is taken to need API access when
// a RoleBinding or ClusterRoleBinding in the snapshot grants its service account something:
// directly, or through its namespace's group system:serviceaccounts:<namespace>. Bindings to
// every service account of the cluster (system:serviceaccounts, system:authenticated: the
// bootstrap discovery roles, for instance) say nothing about this workload's needs. A stolen
// token is the first step of most in-cluster escalations.
var automountServiceAccountToken = registerWorkload(finding.Rule{
	ID:          "automount-service-account-token",
	Title:       "API token mounted but not needed",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.1.6"},
	Description: "The pod gets a Kubernetes API token although no RBAC binding grants its service account anything: the token only helps an intruder, who can use it to probe the API and any permission later granted to the account or to all service accounts.",
	Remediation: "Set automountServiceAccountToken: false in the pod spec (or on the service account). Workloads that need the API should get a dedicated service account with a binding.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	if !c.Snapshot.TokenMounted(w) {
		return
	}
	sa := w.ServiceAccountName()
	if serviceAccountBound(c.Snapshot, w.Namespace, sa) {
		return
	}
	e.workload(w, "pods mount a token for service account %q, which no RoleBinding or ClusterRoleBinding grants anything", sa)
})

// serviceAccountBound reports whether any binding names the service account, directly or through
// the group of its namespace's service accounts.
func serviceAccountBound(s *inventory.Snapshot, namespace, name string) bool {
	match := func(kind, subjNS, subjName string) bool {
		switch kind {
		case "ServiceAccount":
			return subjName == name && subjNS == namespace
		case "Group":
			return subjName == "system:serviceaccounts:"+namespace
		case "User":
			return subjName == "system:serviceaccount:"+namespace+":"+name
		}
		return false
	}
	for _, b := range s.RoleBindings {
		for _, sub := range b.Subjects {
			ns := sub.Namespace
			if ns == "" {
				ns = b.Namespace
			}
			if match(sub.Kind, ns, sub.Name) {
				return true
			}
		}
	}
	for _, b := range s.ClusterRoleBindings {
		for _, sub := range b.Subjects {
			if match(sub.Kind, sub.Namespace, sub.Name) {
				return true
			}
		}
	}
	return false
}
