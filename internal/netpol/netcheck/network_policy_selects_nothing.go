package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// networkPolicySelectsNothing forbids policies whose subject (a NetworkPolicy's
// spec.podSelector within its namespace, an admin policy's spec.subject) matches no workload:
// they protect nothing, which usually means a label was misspelt or the workload was relabelled.
var _ = register(finding.Rule{
	ID:          "network-policy-selects-nothing",
	Title:       "Network policy selects no pod",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"k8s:networkpolicy"},
	Description: "The policy's pod selector matches no workload, so it isolates and allows nothing. A misspelt or outdated label leaves the pods it was meant for unprotected.",
	Remediation: "Fix spec.podSelector (spec.subject for admin policies) to match the labels of the pods it is meant for (`redoubt inventory` lists them), or delete the policy.",
}, func(c *Context, e *emitter) {
	for _, p := range c.Policies() {
		if len(p.Selected) > 0 {
			continue
		}
		where := "no workload"
		if p.Ref.Kind == netpol.KindNetworkPolicy {
			where = "no workload of namespace " + p.Ref.Namespace
		}
		e.policy(p.Ref, "its selector matches %s: it protects nothing", where)
	}
})
