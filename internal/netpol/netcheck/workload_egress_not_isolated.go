package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// workloadEgressNotIsolated forbids workloads that may connect anywhere in a namespace that
// otherwise uses NetworkPolicies: no NetworkPolicy with policyTypes Egress selects the
// workload's pod labels, and no AdminNetworkPolicy or BaselineAdminNetworkPolicy has egress
// rules for it. A compromised pod can then reach every service in the cluster and exfiltrate
// to any address.
var _ = register(finding.Rule{
	ID:          "workload-egress-not-isolated",
	Title:       "Workload may connect anywhere",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"nsa:network-separation"},
	Description: "No NetworkPolicy selects the workload's pods for egress, although its namespace uses NetworkPolicies: the workload may open connections to every pod in the cluster and every address, which is what an attacker who compromises it needs to move on or exfiltrate data.",
	Remediation: "Select the workload in a NetworkPolicy with policyTypes [Egress] and allow only the destinations it needs (DNS included); `redoubt netpol generate --flows` proposes such a policy from observed traffic.",
}, notIsolated(netpol.Egress, "it may connect to every pod in the cluster and every address"))
