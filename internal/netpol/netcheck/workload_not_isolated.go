package netcheck

import (
	"redoubt.dev/redoubt/internal/netpol"
)

// notIsolated reports the workloads whose pods nothing isolates in one direction, in
// namespaces that do have NetworkPolicies (namespaces with none are reported once, as a whole,
// by namespace-without-network-policy). A pod is isolated for a direction when a
// NetworkPolicy with that policyType selects it; admin and baseline policies with rules for the
// direction also count as governing it. Host-network pods (which NetworkPolicy cannot select)
// and pods a CNI-specific policy may select (which Redoubt does not analyse) are not reported.
func notIsolated(d netpol.Direction, what string) func(*Context, *emitter) {
	return func(c *Context, e *emitter) {
		for _, w := range c.Snapshot.Workloads {
			ep := c.Analysis.WorkloadEndpoint(w)
			if ep.HostNetwork() || !c.HasNetworkPolicies(w.Namespace) || len(c.Analysis.CNIPolicies(w)) > 0 {
				continue
			}
			if len(c.Analysis.Isolated(ep, d)) > 0 || c.Analysis.AdminGoverned(ep, d) {
				continue
			}
			f := e.workload(w, "namespace %q has NetworkPolicies, but none selects %s for %s: %s", w.Namespace, w.Name, d, what)
			f.Evidence = map[string]any{"direction": d.String()}
		}
	}
}
