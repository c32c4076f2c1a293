package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// kubeletIPTablesUtilChains requires the kubelet to maintain its iptables utility chains
// (makeIPTablesUtilChains, default true): with it off, the KUBE-FIREWALL rules that drop
// martian packets to localhost-bound services (route_localnet) are not kept in place, and
// network rules drift from what the kubelet expects.
var kubeletIPTablesUtilChains = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-iptables-util-chains",
	Title:       "Kubelet does not manage its iptables chains",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:4.2.6"},
	Description: "The kubelet runs with makeIPTablesUtilChains: false, so it does not keep the iptables rules (KUBE-FIREWALL) that protect localhost-bound node services from remote packets.",
	Remediation: "Set makeIPTablesUtilChains: true in the kubelet's configuration file (the default) and remove --make-iptables-util-chains=false.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return kubeletBool(i, "makeIPTablesUtilChains", true, "the kubelet's iptables utility chains are not maintained")
})
