package auditlog

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Secret reads by subjects that do not normally read them.
//
// Forbids a successful get, list or watch of Secrets in a namespace by a subject that did not
// read Secrets in that namespace during the baseline: the first BaselineWindow of the log
// (--baseline-window, default one hour, or up to --baseline-until). The baseline is learned per
// subject (the user the request acted as) and namespace, and is capped (--max-subjects) so
// memory stays bounded. Reading Secrets is what a stolen credential is used for first (MITRE
// ATT&CK for Containers T1552.007, Unsecured Credentials: Container API).
//
// Nodes, the control plane's own identities (system:node:*, system:kube-controller-manager,
// system:kube-scheduler, system:apiserver) and kube-system's controller service accounts are
// not judged: they read Secrets as pods come and go. Lists across all namespaces are reported
// by audit-secret-list-all-namespaces instead.
//
// Severity: medium for a get; high for a list or watch (every Secret in the namespace) or in a
// sensitive namespace.
var secretRead = finding.Register(finding.Rule{
	ID:       "audit-secret-read-unusual",
	Title:    "Secret read by a subject that does not normally read them",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Medium,
	Description: "The audit log shows a user or service account reading Secrets in a namespace where it did not " +
		"read Secrets during the baseline period. New readers of Secrets are how stolen credentials and " +
		"insiders show up: the first thing taken is more credentials.",
	Remediation: "Confirm with the owner of the subject that the read was expected; if not, revoke the " +
		"credential and rotate the Secrets read. Grant get/list/watch on Secrets by name (resourceNames) to " +
		"the few subjects that need them.",
	References: []string{"mitre:T1552.007"},
})

func init() { register(detectSecretRead) }

// secretReaders are identities that read Secrets as part of running the cluster.
func routineSecretReader(user string) bool {
	switch {
	case strings.HasPrefix(user, "system:node:"),
		user == "system:kube-controller-manager", user == "system:kube-scheduler", user == "system:apiserver",
		strings.HasPrefix(user, "system:serviceaccount:kube-system:"):
		return true
	}
	return false
}

func secretVerb(v string) bool { return v == "get" || v == "list" || v == "watch" }

func detectSecretRead(a *Analyzer, e *Event) {
	if !e.IsResource("", "secrets") || e.ObjectRef.Subresource != "" || !secretVerb(e.Verb) || !e.Succeeded() {
		return
	}
	ns := e.ObjectRef.Namespace
	as, _ := e.Actor()
	if ns == "" || as == "" || routineSecretReader(as) {
		return
	}
	key := as + "\x00" + ns
	if !e.Time().After(a.baselineEnd) {
		a.secretBaseline.put(key, struct{}{})
		return
	}
	if _, known := a.secretBaseline.get(key); known {
		return
	}
	sev := finding.Medium
	if e.Verb != "get" || a.sensitive(ns) {
		sev = finding.High
	}
	res := finding.Resource{Namespace: ns, Kind: "Secret", Name: e.ObjectRef.Name}
	what := fmt.Sprintf("Secret %s/%s read", ns, res.Name)
	if res.Name == "" {
		res.Name = "*"
		what = fmt.Sprintf("Secrets of namespace %s %sed", ns, e.Verb)
	}
	a.report(e, hit{rule: secretRead, severity: sev, res: res,
		what:     what + " by a subject that read none there during the baseline (until " + a.baselineEnd.UTC().Format("2006-01-02T15:04:05Z") + ")",
		evidence: map[string]any{"baselineUntil": a.baselineEnd.UTC().Format("2006-01-02T15:04:05Z")},
		key:      e.Verb})
}
