package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// workloadIngressNotIsolated forbids workloads that accept connections from everywhere in a
// namespace that otherwise uses NetworkPolicies: no NetworkPolicy with policyTypes Ingress
// selects the workload's pod labels (spec.podSelector), and no AdminNetworkPolicy or
// BaselineAdminNetworkPolicy has ingress rules for it. Every pod in the cluster, and every
// address that can route to it, may connect on every port.
var _ = register(finding.Rule{
	ID:          "workload-ingress-not-isolated",
	Title:       "Workload accepts connections from everywhere",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.3.2", "nsa:network-separation"},
	Description: "No NetworkPolicy selects the workload's pods for ingress, although its namespace uses NetworkPolicies: every pod in the cluster and every routable address can connect to it on every port. Usually a policy's podSelector misses the workload's labels, or the workload was added after the policies were written.",
	Remediation: "Select the workload in a NetworkPolicy with policyTypes [Ingress] (a default-deny with podSelector: {} covers every pod of the namespace) and allow only the clients it needs; `redoubt netpol generate --flows` proposes such a policy from observed traffic.",
}, notIsolated(netpol.Ingress, "every pod in the cluster and every address can connect to it on every port"))
