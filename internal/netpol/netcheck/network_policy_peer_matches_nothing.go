package netcheck

import (
	"fmt"

	"redoubt.dev/redoubt/internal/finding"
)

// networkPolicyPeerMatchesNothing forbids rule peers that select pods (podSelector,
// namespaceSelector, their combination; an admin policy's namespaces or pods) but match no
// workload in the snapshot. Such a peer allows (or denies) nothing today: either the label is
// wrong, or the peer lives outside what was scanned (the ingress controller's or DNS
// namespace, when only an application's manifests are scanned), in which case the finding is
// a reminder to check the label against the real cluster.
var _ = register(finding.Rule{
	ID:          "network-policy-peer-matches-nothing",
	Title:       "Network policy rule peer matches nothing",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"k8s:networkpolicy"},
	Description: "A peer of a policy rule selects pods, but no workload in what was scanned matches it, so the rule allows nothing through that peer. A misspelt label breaks the traffic it was written for; a peer outside the scanned manifests should be checked against the cluster.",
	Remediation: "Compare the peer's selectors with the labels of the pods meant (`redoubt inventory`; namespaces carry kubernetes.io/metadata.name), fix them, or remove the peer. Scanning the live cluster resolves peers in namespaces the manifests do not hold.",
}, func(c *Context, e *emitter) {
	for _, p := range c.Policies() {
		for d := range 2 {
			for _, r := range p.Rules[d] {
				for i, m := range c.Analysis.Peers(r) {
					if !m.Pods || len(m.Workloads) > 0 {
						continue
					}
					why := "matches no workload"
					if m.HasNamespaceSelector && len(m.Namespaces) == 0 {
						why = "matches no namespace"
					} else if m.HasNamespaceSelector {
						why = fmt.Sprintf("matches namespace(s) %s but no workload in them", names(m.Namespaces, 5))
					}
					f := e.policy(p.Ref, "%s.%s: %s", r.Path(), r.PeerString(r.PeerIndexAt(i)), why)
					f.Evidence = map[string]any{"rule": r.Path(), "peer": m.Desc}
				}
			}
		}
	}
})
