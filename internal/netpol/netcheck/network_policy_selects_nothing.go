package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// networkPolicySelectsNothing forbids policies whose subject (a NetworkPolicy's
// spec.podSelector within its namespace, an admin policy's spec.subject) matches no workload:
// they protect nothing, which usually means a label was misspelt or the workload was relabelled.
// A selector that matches only host-network pods (spec.hostNetwork: true) protects nothing
// either, because NetworkPolicy does not govern pods on the node's network; the finding says
// so, rather than claiming the labels are wrong. Traffic from such pods is node traffic, which
// ipBlock peers holding the nodes' addresses admit.
var _ = register(finding.Rule{
	ID:          "network-policy-selects-nothing",
	Title:       "Network policy selects no pod",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"k8s:networkpolicy"},
	Description: "The policy's pod selector matches no workload, so it isolates and allows nothing. A misspelt or outdated label leaves the pods it was meant for unprotected.",
	Remediation: "Fix spec.podSelector (spec.subject for admin policies) to match the labels of the pods it is meant for (`redoubt inventory` lists them), or delete the policy. Pods on the host's network are protected by the node's firewall, not by NetworkPolicy.",
}, func(c *Context, e *emitter) {
	for _, p := range c.Policies() {
		if len(p.Selected) > 0 {
			continue
		}
		if len(p.HostNetwork) > 0 {
			// The selector is right about the labels; the pods it finds are on the node's
			// network, which NetworkPolicy neither selects nor isolates.
			hosts := make([]string, len(p.HostNetwork))
			for i, w := range p.HostNetwork {
				hosts[i] = netpol.WorkloadName(w)
			}
			f := e.policy(p.Ref, "its selector matches only pods on the host's network (%s), which NetworkPolicy does not govern: it protects nothing", names(hosts, 5))
			f.Evidence = map[string]any{"hostNetwork": hosts}
			continue
		}
		where := "no workload"
		if p.Ref.Kind == netpol.KindNetworkPolicy {
			where = "no workload of namespace " + p.Ref.Namespace
		}
		e.policy(p.Ref, "its selector matches %s: it protects nothing", where)
	}
})
