package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// networkPolicyEgressAnywhere forbids egress rules that allow every port to every address: a
// rule with no ports whose peers are absent (every destination) or include an ipBlock of
// 0.0.0.0/0 or ::/0. The pods it selects may reach any service in the cluster and any host on
// the internet, which defeats the egress isolation the policy declares.
var _ = register(finding.Rule{
	ID:          "network-policy-egress-anywhere",
	Title:       "Network policy allows egress anywhere on any port",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"nsa:network-separation"},
	Description: "An egress rule allows every port to every address (no ports, and no peers or 0.0.0.0/0 or ::/0). The selected pods may reach any cluster service and any host on the internet, which is how data leaves after a compromise.",
	Remediation: "Name the destinations (pod and namespace selectors, narrower ipBlocks) and ports the workload needs; `redoubt netpol generate --flows` derives them from observed traffic.",
}, func(c *Context, e *emitter) {
	for _, p := range c.Policies() {
		if p.Ref.Kind != netpol.KindNetworkPolicy {
			continue
		}
		for _, r := range p.Rules[netpol.Egress] {
			if r.AllowsEverywhere() {
				f := e.policy(p.Ref, "%s allows every port to every address", r.Path())
				f.Evidence = map[string]any{"rule": r.Path()}
			}
		}
	}
})
