package checks

import (
	"redoubt.dev/redoubt/internal/finding"
)

// namespaceWithoutNetworkPolicy requires at least one NetworkPolicy in every namespace that runs
// workloads. Without one, every pod in the namespace accepts connections from every pod in the
// cluster and may connect anywhere. Namespaces whose pods are governed by CNI-specific policies
// (CiliumNetworkPolicy, Calico NetworkPolicy) are not reported: Redoubt recognises those
// policies but does not analyse them.
var namespaceWithoutNetworkPolicy = register(finding.Rule{
	ID:          "namespace-without-network-policy",
	Title:       "Namespace without NetworkPolicy",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.3.2"},
	Description: "The namespace runs workloads but has no NetworkPolicy, so its pods accept connections from anywhere in the cluster and may connect anywhere: one compromised pod elsewhere reaches all of them.",
	Remediation: "Add a default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress]) and then policies that allow the traffic each workload needs; `redoubt netpol generate` proposes them from observed flows.",
}, func(c *Context, e *emitter) {
	s := c.Snapshot
	has := map[string]bool{}
	for _, p := range s.NetworkPolicies {
		has[p.Namespace] = true
	}
	for _, o := range s.Others {
		if o.IsCNIPolicy() {
			has[o.Namespace] = true
		}
	}
	count := map[string]int{}
	for _, w := range s.Workloads {
		count[w.Namespace]++
	}
	for _, ns := range s.Namespaces {
		if count[ns.Name] == 0 || has[ns.Name] {
			continue
		}
		f := e.object("", "Namespace", ns.Name, ns.Origin, "namespace %q runs %d workload(s) and has no NetworkPolicy", ns.Name, count[ns.Name])
		f.Resource.Namespace = ns.Name
	}
})
