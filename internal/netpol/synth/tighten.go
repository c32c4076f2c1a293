package synth

import (
	"fmt"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/flow"
	"redoubt.dev/redoubt/internal/netpol/traffic"
)

// ruleUse records which parts of one NetworkPolicy rule allowed flows matched.
type ruleUse struct {
	flows int
	peers map[int]int
	ports map[int]int
}

// Tighten patches the snapshot's NetworkPolicies: rules, peers and ports that no allowed flow
// matched are removed. A policy whose selected pods saw no allowed flow in a direction is left
// alone in that direction: absence of traffic in the window is no evidence there. Only
// policies that change are returned; the verification covers the whole patched set.
func Tighten(a *netpol.Analysis, results []*flow.Result) *Result {
	flows, excluded, problems := mapped(a, results)
	res := &Result{Excluded: excluded, Notes: problems}
	use := map[string]*ruleUse{}
	seen := map[string]bool{} // "ns/name/direction": the policy's pods saw allowed traffic
	ruleKey := func(r *netpol.Rule) string {
		ref := r.Policy()
		return ref.Namespace + "/" + ref.Name + "/" + r.Path()
	}
	var allowedFlows []traffic.Mapped
	for _, mf := range flows {
		var kept []traffic.Target
		for _, t := range mf.Targets {
			if !a.Allowed(mf.Src, t.Dst).ContainsAll(t.Want) {
				continue
			}
			kept = append(kept, t)
			ex := a.Explain(mf.Src, t.Dst)
			for _, v := range []netpol.Verdict{ex.Egress, ex.Ingress} {
				for _, ref := range v.IsolatedBy {
					seen[ref.Namespace+"/"+ref.Name+"/"+v.Direction.String()] = true
				}
				for _, s := range v.Steps {
					if s.Rule.Policy().Kind != netpol.KindNetworkPolicy || s.Matched.Intersect(t.Want).IsEmpty() {
						continue
					}
					u := use[ruleKey(s.Rule)]
					if u == nil {
						u = &ruleUse{peers: map[int]int{}, ports: map[int]int{}}
						use[ruleKey(s.Rule)] = u
					}
					u.flows++
					for _, i := range s.Peers {
						u.peers[i]++
					}
					for _, p := range s.Ports {
						if !p.Conns.Intersect(t.Want).IsEmpty() {
							u.ports[p.Index]++
						}
					}
				}
			}
		}
		if len(kept) > 0 {
			mf.Targets = kept
			allowedFlows = append(allowedFlows, mf)
		}
	}
	res.Used = len(allowedFlows)
	var all []*Policy
	for _, np := range a.Snapshot.NetworkPolicies {
		p := &Policy{Policy: np.NetworkPolicy.DeepCopy(), RuleComments: map[string][]string{}}
		p.Policy.TypeMeta.APIVersion, p.Policy.TypeMeta.Kind = "networking.k8s.io/v1", "NetworkPolicy"
		p.Policy.ManagedFields, p.Policy.ResourceVersion, p.Policy.UID, p.Policy.Generation = nil, "", "", 0
		p.Policy.CreationTimestamp = np.CreationTimestamp
		delete(p.Policy.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
		changed := false
		for _, d := range []netpol.Direction{netpol.Ingress, netpol.Egress} {
			if !seen[np.Namespace+"/"+np.Name+"/"+d.String()] {
				if hasType(np, d) {
					p.RuleComments[d.String()+"-removed"] = append(p.RuleComments[d.String()+"-removed"],
						fmt.Sprintf("%s left as is: no allowed flow reached the pods it selects", d))
				}
				continue
			}
			if tightenDirection(np, p, d, use) {
				changed = true
			}
		}
		p.Header = []string{fmt.Sprintf("%s/%s tightened from %s", np.Namespace, np.Name, np.Origin)}
		if !changed {
			p.Header = []string{fmt.Sprintf("%s/%s unchanged (%s)", np.Namespace, np.Name, np.Origin)}
		}
		all = append(all, p)
		if changed {
			res.Policies = append(res.Policies, p)
		}
	}
	for _, p := range all {
		if !slices.Contains(res.Policies, p) {
			res.Notes = append(res.Notes, fmt.Sprintf("NetworkPolicy %s/%s: nothing to remove", p.Policy.Namespace, p.Policy.Name))
		}
	}
	res.Verification = verify(a, all, allowedFlows, true)
	return res
}

func hasType(np *inventory.NetworkPolicy, d netpol.Direction) bool {
	want := networkingv1.PolicyTypeIngress
	if d == netpol.Egress {
		want = networkingv1.PolicyTypeEgress
	}
	return slices.Contains(np.Spec.PolicyTypes, want) || (len(np.Spec.PolicyTypes) == 0 && (d == netpol.Ingress || len(np.Spec.Egress) > 0))
}

// tightenDirection removes the unused rules, peers and ports of one direction.
func tightenDirection(np *inventory.NetworkPolicy, p *Policy, d netpol.Direction, use map[string]*ruleUse) bool {
	type rule struct {
		peers []networkingv1.NetworkPolicyPeer
		ports []networkingv1.NetworkPolicyPort
	}
	var rules []rule
	if d == netpol.Ingress {
		for _, r := range np.Spec.Ingress {
			rules = append(rules, rule{r.From, r.Ports})
		}
	} else {
		for _, r := range np.Spec.Egress {
			rules = append(rules, rule{r.To, r.Ports})
		}
	}
	changed := false
	var kept []rule
	for i, r := range rules {
		path := fmt.Sprintf("spec.%s[%d]", d, i)
		u := use[np.Namespace+"/"+np.Name+"/"+path]
		if u == nil || u.flows == 0 {
			p.RuleComments[d.String()+"-removed"] = append(p.RuleComments[d.String()+"-removed"], fmt.Sprintf("removed %s: no allowed flow matched it", path))
			changed = true
			continue
		}
		var comments []string
		var peers []networkingv1.NetworkPolicyPeer
		for j, pr := range r.peers {
			if u.peers[j] == 0 {
				comments = append(comments, fmt.Sprintf("removed %s.%s[%d]: no allowed flow came through it", path, map[netpol.Direction]string{netpol.Ingress: "from", netpol.Egress: "to"}[d], j))
				changed = true
				continue
			}
			peers = append(peers, pr)
		}
		var ports []networkingv1.NetworkPolicyPort
		for j, pt := range r.ports {
			if u.ports[j] == 0 && dnsPartnerUsed(r.ports, j, u) {
				comments = append(comments, fmt.Sprintf("kept %s.ports[%d]: DNS needs TCP 53 as well as UDP 53", path, j))
				ports = append(ports, pt)
				continue
			}
			if u.ports[j] == 0 {
				comments = append(comments, fmt.Sprintf("removed %s.ports[%d]: no allowed flow used it", path, j))
				changed = true
				continue
			}
			ports = append(ports, pt)
		}
		comments = append(comments, fmt.Sprintf("%s: %d allowed flow(s)", path, u.flows))
		p.RuleComments[fmt.Sprintf("%s[%d]", d, len(kept))] = comments
		kept = append(kept, rule{peers, ports})
	}
	if d == netpol.Ingress {
		p.Policy.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
		for _, r := range kept {
			p.Policy.Spec.Ingress = append(p.Policy.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: r.peers, Ports: r.ports})
		}
	} else {
		p.Policy.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
		for _, r := range kept {
			p.Policy.Spec.Egress = append(p.Policy.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: r.peers, Ports: r.ports})
		}
	}
	// policyTypes must stay explicit: an emptied rule list would otherwise change its meaning.
	if len(p.Policy.Spec.PolicyTypes) == 0 {
		p.Policy.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			p.Policy.Spec.PolicyTypes = append(p.Policy.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	return changed
}

// dnsPartnerUsed reports a port-53 entry whose other-protocol twin in the same rule was used:
// resolvers fall back to TCP when answers are large, so the pair stays together.
func dnsPartnerUsed(ports []networkingv1.NetworkPolicyPort, j int, u *ruleUse) bool {
	is53 := func(p networkingv1.NetworkPolicyPort) bool {
		return p.Port != nil && p.Port.IntVal == 53 && p.EndPort == nil
	}
	if !is53(ports[j]) {
		return false
	}
	for k, p := range ports {
		if k != j && is53(p) && u.ports[k] > 0 {
			return true
		}
	}
	return false
}
