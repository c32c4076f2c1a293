package auditlog

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Bindings to roles that can escalate.
//
// Forbids the successful create, update or patch of a RoleBinding or ClusterRoleBinding whose
// roleRef is a role this log saw written with the escalate, bind or impersonate verbs or with
// verbs "*" (other than cluster-admin, which audit-rbac-cluster-admin-binding reports), by anyone but the
// API server writing its default policy (system:apiserver). Such a
// role lets its holders grant themselves any permission (escalate, bind) or act as any user
// (impersonate), so binding it is a grant of everything (MITRE ATT&CK T1098.006, Account
// Manipulation: Additional Container Cluster Roles). Roles are remembered from their own
// create and update events, capped (--max-subjects); a role written before the log began is
// not known. Both the role and the binding need level Request in the audit policy.
var escalatingBinding = finding.Register(finding.Rule{
	ID:       "audit-rbac-escalating-binding",
	Title:    "Subject bound to a role that can escalate or impersonate",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows a binding to a role that holds the escalate, bind or impersonate verbs " +
		"(or every verb): its subjects can grant themselves any permission or act as any user.",
	Remediation: "Confirm with the user named that the grant was approved; remove escalate, bind and impersonate " +
		"from the role, or bind it only to the administrators who need it.",
	References: []string{"mitre:T1098.006"},
})

func init() { register(detectEscalatingBinding) }

func detectEscalatingBinding(a *Analyzer, e *Event) {
	if !rbacWrite(e, "clusterrolebindings") && !rbacWrite(e, "rolebindings") {
		return
	}
	if as, _ := e.Actor(); as == "system:apiserver" {
		return // the default policy's own bindings, written at every start
	}
	b := bindingBody(e.Body())
	if b == nil || b.RoleRef.Name == "cluster-admin" {
		return
	}
	why, ok := a.escalatingRole.get(roleKey(b.RoleRef.Kind, e.ObjectRef.Namespace, b.RoleRef.Name))
	if !ok || why == "" {
		return
	}
	res := objectResource(e)
	if res.Name == "*" && b.Name != "" {
		res.Name = b.Name
	}
	subjects := subjectNames(b.Subjects)
	role := b.RoleRef.Kind + "/" + b.RoleRef.Name
	a.report(e, hit{rule: escalatingBinding, severity: escalatingBinding.Severity, res: res,
		what: fmt.Sprintf("%s %s binds %s to %s, which grants %s", res.Kind, res.Name,
			strings.Join(subjects, ", "), role, why),
		evidence: map[string]any{"subjects": subjects, "roleRef": role, "dangerousRules": why},
		key:      strings.Join(subjects, ",")})
}
