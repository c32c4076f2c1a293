package auditlog

import (
	"fmt"

	"redoubt.dev/redoubt/internal/finding"
)

// Deletion of audit-relevant objects.
//
// Forbids the successful delete or deletecollection, by a person or by a service account
// outside kube-system, of Events (core and events.k8s.io) and of any object in a protected
// namespace (--protected-namespace, default redoubt*: Redoubt's own objects). Events are the
// cluster's short memory of what happened to pods; an attacker removes them, and the security
// tooling, to cover their tracks (MITRE ATT&CK T1070 Indicator Removal, and T1562.001 Impair
// Defenses). The control plane's own garbage collection (the event TTL in etcd, the namespace
// controller) is not a finding. Deleted admission webhooks are reported by
// audit-admission-webhook-changed. Severity high.
var evidenceDeleted = finding.Register(finding.Rule{
	ID:       "audit-evidence-deleted",
	Title:    "Events or security tooling deleted",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows Events, or objects of Redoubt's own namespace, deleted by a user or an " +
		"application rather than by the control plane's garbage collection: someone removing the record of " +
		"what happened, or the tooling that watches.",
	Remediation: "Find out from the user named why the objects were deleted; restrict delete on events and on " +
		"the security tooling's namespace to the control plane, and ship events and audit logs off the cluster.",
	References: []string{"mitre:T1070", "mitre:T1562.001"},
})

func init() { register(detectEvidenceDeleted) }

func detectEvidenceDeleted(a *Analyzer, e *Event) {
	if e.ObjectRef == nil || (e.Verb != "delete" && e.Verb != "deletecollection") || !e.Succeeded() {
		return
	}
	as, _ := e.Actor()
	if routineSecretReader(as) || as == "" {
		return
	}
	r, ns, _, _ := e.Resource()
	isEvent := r == "events" && (e.ObjectRef.APIGroup == "" || e.ObjectRef.APIGroup == "events.k8s.io")
	protected := globs(a.opts.ProtectedNamespaces, ns) || (r == "namespaces" && globs(a.opts.ProtectedNamespaces, e.ObjectRef.Name))
	if !isEvent && !protected {
		return
	}
	res := objectResource(e)
	what := res.String() + " deleted"
	if protected {
		what += " in a protected namespace"
	}
	if e.Verb == "deletecollection" {
		what = fmt.Sprintf("every %s in %s deleted", res.Kind, ns)
	}
	a.report(e, hit{rule: evidenceDeleted, severity: evidenceDeleted.Severity, res: res, what: what, key: e.Verb})
}
