package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// defaultServiceAccount forbids workloads that run as their namespace's "default" service
// account while it also mounts a token. Every pod that names no account shares it, so a
// permission granted to one of them is granted to all, and it cannot be audited per workload.
var defaultServiceAccount = registerWorkload(finding.Rule{
	ID:          "default-service-account",
	Title:       "Runs as the default service account",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"cis:5.1.5"},
	Description: "The workload runs as its namespace's default service account with a token mounted. Every pod that names no account shares that identity, so any permission granted to it reaches them all.",
	Remediation: "Create a service account for the workload and set serviceAccountName; set automountServiceAccountToken: false on the default service account.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	if w.ServiceAccountName() != "default" || !c.Snapshot.TokenMounted(w) {
		return
	}
	e.workload(w, "runs as the default service account of namespace %q with its token mounted", w.Namespace)
})
