package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/netpol"
)

// networkPolicyIngressAllNamespaces forbids ingress rules that admit pods of every namespace:
// a peer with an empty namespaceSelector ({}), with or without a podSelector, or a rule with no
// from at all (every source, outside addresses included). Anyone who can create a pod in any
// namespace, with any labels, gets in.
var _ = register(finding.Rule{
	ID:          "network-policy-ingress-all-namespaces",
	Title:       "Network policy admits every namespace",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"nsa:network-separation"},
	Description: "An ingress rule admits pods from every namespace (namespaceSelector: {}) or every source (no from). Pod labels are no barrier: whoever can create a pod anywhere can give it the labels the rule wants.",
	Remediation: "Name the client namespaces (namespaceSelector on kubernetes.io/metadata.name) together with the client pods' labels.",
}, func(c *Context, e *emitter) {
	for _, p := range c.Policies() {
		if p.Ref.Kind != netpol.KindNetworkPolicy {
			continue
		}
		for _, r := range p.Rules[netpol.Ingress] {
			switch i := r.AllNamespacesPeer(); {
			case i == -2:
				f := e.policy(p.Ref, "%s has no from: it admits every pod of every namespace and every address, on %s", r.Path(), portsOf(r))
				f.Evidence = map[string]any{"rule": r.Path()}
			case i >= 0:
				f := e.policy(p.Ref, "%s.%s admits pods of every namespace, on %s", r.Path(), r.PeerString(i), portsOf(r))
				f.Evidence = map[string]any{"rule": r.Path()}
			}
		}
	}
})

func portsOf(r *netpol.Rule) string {
	if r.AllPorts() {
		return "every port"
	}
	s := ""
	for i := range r.NumPorts() {
		if ps := r.PortString(i); ps != "" {
			if s != "" {
				s += ", "
			}
			s += ps
		}
	}
	return s
}
