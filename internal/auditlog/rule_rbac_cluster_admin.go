package auditlog

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Bindings to cluster-admin.
//
// Forbids the successful create, update or patch of a ClusterRoleBinding or RoleBinding whose
// roleRef is the ClusterRole cluster-admin, by anyone but the API server bootstrapping its
// defaults (system:apiserver). The roleRef is read from the request body, so the audit policy
// must log RBAC objects at level Request. A new cluster-admin is the end state of most attacks
// on a cluster and of insider abuse (MITRE ATT&CK T1098.006, Account Manipulation: Additional
// Container Cluster Roles). Severity critical; high for a RoleBinding (cluster-admin within
// one namespace).
var clusterAdminBinding = finding.Register(finding.Rule{
	ID:       "audit-rbac-cluster-admin-binding",
	Title:    "Subject bound to cluster-admin",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Critical,
	Description: "The audit log shows a binding to the cluster-admin ClusterRole being created or changed: the " +
		"subjects named can now do anything, everywhere (or everything in one namespace, for a RoleBinding).",
	Remediation: "Confirm with the user named that the grant was approved; if not, delete the binding and revoke " +
		"the credentials of both the user who made it and the subjects it names. Grant narrow roles instead.",
	References: []string{"mitre:T1098.006"},
})

func init() { register(detectClusterAdminBinding) }

func detectClusterAdminBinding(a *Analyzer, e *Event) {
	cluster := rbacWrite(e, "clusterrolebindings")
	if !cluster && !rbacWrite(e, "rolebindings") {
		return
	}
	if as, _ := e.Actor(); as == "system:apiserver" {
		return
	}
	b := bindingBody(e.Body())
	if b == nil || b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != "cluster-admin" {
		return
	}
	res := objectResource(e)
	if res.Name == "*" && b.Name != "" {
		res.Name = b.Name
	}
	sev := finding.Critical
	scope := "the whole cluster"
	if !cluster {
		sev = finding.High
		scope = "namespace " + res.Namespace
	}
	subjects := subjectNames(b.Subjects)
	a.report(e, hit{rule: clusterAdminBinding, severity: sev, res: res,
		what: fmt.Sprintf("%s %s binds %s to cluster-admin over %s", res.Kind, res.Name,
			strings.Join(subjects, ", "), scope),
		evidence: map[string]any{"subjects": subjects, "roleRef": "ClusterRole/cluster-admin"},
		key:      strings.Join(subjects, ",")})
}
