package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// defaultNamespace forbids workloads in the "default" namespace. It is where everything lands
// when nobody chose, so it mixes unrelated workloads under one set of policies, quotas and
// RBAC grants. Manifests that name no namespace land there too (unless applied with -n).
var defaultNamespace = registerWorkload(finding.Rule{
	ID:          "default-namespace",
	Title:       "Workload in the default namespace",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"cis:5.6.4"},
	Description: "The workload runs in the default namespace, which mixes unrelated workloads under one set of NetworkPolicies, quotas, Pod Security labels and RBAC grants.",
	Remediation: "Create a namespace per application or team and deploy the workload there (metadata.namespace, or kubectl -n / helm --namespace).",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	if w.Namespace != "default" {
		return
	}
	e.workload(w, "workload is in the default namespace")
})
