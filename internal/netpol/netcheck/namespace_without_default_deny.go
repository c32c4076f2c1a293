package netcheck

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
)

// namespaceWithoutDefaultDeny requires a default deny in every namespace that runs workloads
// and uses NetworkPolicies: for each of ingress and egress, a NetworkPolicy whose podSelector is
// empty ({}: every pod of the namespace) with that policyType, or a BaselineAdminNetworkPolicy
// that selects the whole namespace and denies, on every port, traffic from (to) every
// namespace. Without it, each new workload is open until someone writes its policy.
// Namespaces with no NetworkPolicy at all are namespace-without-network-policy findings.
var _ = register(finding.Rule{
	ID:          "namespace-without-default-deny",
	Title:       "Namespace without a default-deny policy",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.3.2", "nsa:network-separation"},
	Description: "The namespace uses NetworkPolicies but none selects every pod ({}) for ingress or for egress, so any workload its policies do not name, including every workload added later, accepts (or opens) connections without restriction.",
	Remediation: "Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] and no rules, then allow what each workload needs (remember DNS egress).",
}, func(c *Context, e *emitter) {
	count := map[string]int{}
	for _, w := range c.Snapshot.Workloads {
		count[w.Namespace]++
	}
	for _, ns := range c.Snapshot.Namespaces {
		if count[ns.Name] == 0 || !c.HasNetworkPolicies(ns.Name) {
			continue
		}
		var missing []string
		for _, d := range []netpol.Direction{netpol.Ingress, netpol.Egress} {
			if !defaultDeny(c, ns, d) {
				missing = append(missing, d.String())
			}
		}
		if len(missing) == 0 {
			continue
		}
		// An implied namespace has no manifest: point at its first policy, beside which the
		// default deny belongs.
		origin := ns.Origin
		if origin.File == "" && origin.UID == "" {
			origin = c.Snapshot.NetworkPoliciesIn(ns.Name)[0].Origin
		}
		f := e.add(finding.Resource{Namespace: ns.Name, Kind: "Namespace", Name: ns.Name}, location(origin),
			"no policy selects every pod of namespace %q for %s: workloads its policies do not name are open", ns.Name, strings.Join(missing, " or "))
		f.Evidence = map[string]any{"directions": missing}
	}
})

func defaultDeny(c *Context, ns *inventory.Namespace, d netpol.Direction) bool {
	want := "Ingress"
	if d == netpol.Egress {
		want = "Egress"
	}
	for _, np := range c.Snapshot.NetworkPoliciesIn(ns.Name) {
		sel := np.Spec.PodSelector
		if len(sel.MatchLabels) > 0 || len(sel.MatchExpressions) > 0 {
			continue
		}
		for _, t := range np.Spec.PolicyTypes {
			if string(t) == want {
				return true
			}
		}
		if len(np.Spec.PolicyTypes) == 0 && (d == netpol.Ingress || len(np.Spec.Egress) > 0) {
			return true
		}
	}
	for _, b := range c.Snapshot.BaselineAdminNetworkPolicies {
		if baselineDenies(b, ns, d) {
			return true
		}
	}
	return false
}

// baselineDenies reports a baseline policy that selects the whole namespace and denies every
// port from (to) every namespace.
func baselineDenies(b *inventory.BaselineAdminNetworkPolicy, ns *inventory.Namespace, d netpol.Direction) bool {
	nsLabels := labels.Set(ns.Labels)
	matches := func(s *metav1.LabelSelector) bool {
		sel, err := metav1.LabelSelectorAsSelector(s)
		return err == nil && sel.Matches(nsLabels)
	}
	subj := b.Spec.Subject
	whole := (subj.Namespaces != nil && matches(subj.Namespaces)) ||
		(subj.Pods != nil && matches(&subj.Pods.NamespaceSelector) && isEmpty(&subj.Pods.PodSelector))
	if !whole {
		return false
	}
	allNS := func(n *metav1.LabelSelector) bool { return n != nil && isEmpty(n) }
	if d == netpol.Ingress {
		for _, r := range b.Spec.Ingress {
			if r.Action == anpv1alpha1.BaselineAdminNetworkPolicyRuleActionDeny && r.Ports == nil {
				for _, p := range r.From {
					if allNS(p.Namespaces) {
						return true
					}
				}
			}
		}
		return false
	}
	for _, r := range b.Spec.Egress {
		if r.Action == anpv1alpha1.BaselineAdminNetworkPolicyRuleActionDeny && r.Ports == nil {
			for _, p := range r.To {
				if allNS(p.Namespaces) {
					return true
				}
			}
		}
	}
	return false
}

func isEmpty(s *metav1.LabelSelector) bool {
	return len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}
