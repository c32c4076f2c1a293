package auditlog

import (
	"redoubt.dev/redoubt/internal/finding"
)

// Secrets listed across all namespaces.
//
// Forbids a successful list or watch of Secrets at cluster scope (no namespace in the request:
// GET /api/v1/secrets) by anyone but the control plane's own identities (see
// audit-secret-read-unusual). One such request returns every credential in the cluster: it is
// what a cluster-wide read grant is abused for, and almost no application needs it (MITRE
// ATT&CK for Containers T1552.007, Unsecured Credentials: Container API). Readable at level
// Metadata; reported whether or not the baseline has ended.
var secretListAll = finding.Register(finding.Rule{
	ID:       "audit-secret-list-all-namespaces",
	Title:    "Secrets listed across all namespaces",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows a list or watch of Secrets in all namespaces at once: every credential " +
		"in the cluster in one response.",
	Remediation: "Confirm with the user named; if it is not a known operator (a backup or secrets-sync tool), " +
		"revoke the credential and rotate the cluster's Secrets. Grant Secret reads per namespace, never " +
		"cluster-wide.",
	References: []string{"mitre:T1552.007"},
})

func init() { register(detectSecretListAll) }

func detectSecretListAll(a *Analyzer, e *Event) {
	if !e.IsResource("", "secrets") || e.ObjectRef.Subresource != "" || e.ObjectRef.Namespace != "" ||
		(e.Verb != "list" && e.Verb != "watch") || !e.Succeeded() {
		return
	}
	if as, _ := e.Actor(); routineSecretReader(as) {
		return
	}
	a.report(e, hit{rule: secretListAll, severity: secretListAll.Severity,
		res:  finding.Resource{Kind: "Secret", Name: "*"},
		what: "Secrets of every namespace " + e.Verb + "ed", key: e.Verb})
}
