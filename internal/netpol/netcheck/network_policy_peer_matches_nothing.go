package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// networkPolicyPeerMatchesNothing forbids rule peers that select pods (podSelector,
// namespaceSelector, their combination; an admin policy's namespaces or pods) but match no
// workload in the snapshot. Such a peer allows (or denies) nothing today: either the label is
// wrong, or the peer lives outside what was scanned (the ingress controller's or DNS
// namespace, when only an application's manifests are scanned), in which case the finding is
// a reminder to check the label against the real cluster. A peer whose selectors match only
// host-network pods is reported as such: selectors never match those pods, whose traffic is the
// node's and is admitted by ipBlock peers holding the nodes' addresses.
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
					// Whether the namespace exists goes to the evidence, not the message: a
					// cluster has namespaces (kube-system) its manifests do not declare, and
					// the finding must read the same from both.
					if len(m.HostNetwork) > 0 {
						hosts := make([]string, len(m.HostNetwork))
						for j, w := range m.HostNetwork {
							hosts[j] = netpol.WorkloadName(w)
						}
						f := e.policy(p.Ref, "%s.%s: matches only pods on the host's network (%s), which selectors never match: their traffic is the node's, which an ipBlock holding the nodes' addresses admits",
							r.Path(), r.PeerString(r.PeerIndexAt(i)), names(hosts, 5))
						f.Evidence = map[string]any{"rule": r.Path(), "peer": m.Desc, "hostNetwork": hosts}
						continue
					}
					f := e.policy(p.Ref, "%s.%s: matches no workload", r.Path(), r.PeerString(r.PeerIndexAt(i)))
					f.Evidence = map[string]any{"rule": r.Path(), "peer": m.Desc}
					if m.HasNamespaceSelector {
						f.Evidence["namespaces"] = m.Namespaces
					}
				}
			}
		}
	}
})
