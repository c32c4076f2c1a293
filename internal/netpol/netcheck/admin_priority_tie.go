package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// adminPriorityTie forbids two AdminNetworkPolicies with the same spec.priority. Where both
// match a connection, the API leaves it to the network plugin which one applies, so an Allow
// in one and a Deny in the other may go either way, and differently after an upgrade.
var _ = register(finding.Rule{
	ID:          "admin-network-policy-priority-tie",
	Title:       "AdminNetworkPolicies share a priority",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"k8s:adminnetworkpolicy-priority"},
	Description: "Two AdminNetworkPolicies have the same priority. Where both match a connection, which one applies is up to the network plugin and may change between versions.",
	Remediation: "Give every AdminNetworkPolicy a distinct spec.priority.",
}, func(c *Context, e *emitter) {
	var prev *netpol.PolicyInfo
	for _, p := range c.Policies() {
		if p.Ref.Kind != netpol.KindAdminNetworkPolicy {
			continue
		}
		if prev != nil && prev.Ref.Priority == p.Ref.Priority {
			f := e.policy(p.Ref, "priority %d is also the priority of AdminNetworkPolicy %q", p.Ref.Priority, prev.Ref.Name)
			f.Evidence = map[string]any{"priority": p.Ref.Priority, "other": prev.Ref.Name}
		}
		prev = &p
	}
})
