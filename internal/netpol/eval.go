package netpol

// Evaluation follows the precedence the network-policy-api defines:
//
//  1. AdminNetworkPolicy rules whose subject selects the pod, by priority (lower first), each
//     policy's rules in order. The first rule that matches a connection decides it: Allow and
//     Deny are final, Pass hands it on to step 2.
//  2. NetworkPolicy: if any NetworkPolicy selects the pod for the direction, the pod is isolated
//     and a connection is allowed exactly when some rule of those policies allows it.
//  3. Otherwise BaselineAdminNetworkPolicy rules, in order, first match wins (Allow or Deny).
//  4. Otherwise the connection is allowed.
//
// A connection from A to B needs both A's egress and B's ingress to allow it. Addresses outside
// the cluster's pods have no policies of their own, so only the pod side decides.

// Step is one rule's part in a verdict.
type Step struct {
	Rule *Rule
	// Peers are the indexes of the rule's peers that matched (nil when the rule names none).
	Peers []int
	// Ports are the rule's port entries that resolved to something at the destination, with
	// what each allows there (nil when the rule names no ports).
	Ports []PortHit
	// Matched is every connection the rule covers for this pair.
	Matched ConnSet
	// Decided is the part of Matched this rule decided, after rules of higher precedence.
	Decided ConnSet
}

// PortHit is one port entry of a rule, resolved at a destination.
type PortHit struct {
	Index int
	Conns ConnSet
}

// Verdict is one direction's decision for one pair.
type Verdict struct {
	Direction Direction
	// Applies is false when the subject is an address or a host-network pod: nothing is
	// enforced at that end.
	Applies bool
	// IsolatedBy are the NetworkPolicies that select the subject in this direction.
	IsolatedBy []PolicyRef
	// Steps are the rules that matched, in order of precedence.
	Steps []Step
	// Default is what no rule decided and the tiers allow by default: everything when nothing
	// isolates the pod, what is left after baseline rules otherwise.
	Default ConnSet
	// Allowed is the outcome.
	Allowed ConnSet
}

// decide computes what the subject allows in direction d with other; ports resolve at dst.
func (a *Analysis) decide(d Direction, subject, other, dst Endpoint, trace bool) Verdict {
	v := Verdict{Direction: d}
	if subject.cls == nil || subject.cls.hostNetwork {
		v.Allowed = AllConns()
		v.Default = v.Allowed
		return v
	}
	v.Applies = true
	cr := a.perClass[d][subject.cls.id]
	if trace {
		for _, p := range cr.isolatedBy {
			v.IsolatedBy = append(v.IsolatedBy, p.ref)
		}
	}
	remaining := AllConns()
	var allowed, passed ConnSet
	// Admin tier: first match wins.
	for _, r := range cr.admin {
		if remaining.IsEmpty() {
			break
		}
		if !r.matchPeers(other) {
			continue
		}
		m := r.conns(dst)
		decided := m.Intersect(remaining)
		if trace && !m.IsEmpty() {
			v.Steps = append(v.Steps, a.step(r, other, dst, m, decided))
		}
		if decided.IsEmpty() {
			continue
		}
		switch r.Action {
		case Allow:
			allowed = allowed.Union(decided)
		case Pass:
			passed = passed.Union(decided)
		}
		remaining = remaining.Subtract(decided)
	}
	// Passed connections and those no admin rule matched go on alike.
	remaining = remaining.Union(passed)
	if len(cr.isolatedBy) > 0 {
		var np ConnSet
		for _, r := range cr.np {
			if !r.matchPeers(other) {
				continue
			}
			m := r.conns(dst)
			if m.IsEmpty() {
				continue
			}
			np = np.Union(m)
			if trace {
				v.Steps = append(v.Steps, a.step(r, other, dst, m, m.Intersect(remaining)))
			}
		}
		v.Allowed = allowed.Union(np.Intersect(remaining))
		return v
	}
	for _, r := range cr.baseline {
		if remaining.IsEmpty() {
			break
		}
		if !r.matchPeers(other) {
			continue
		}
		m := r.conns(dst)
		decided := m.Intersect(remaining)
		if trace && !m.IsEmpty() {
			v.Steps = append(v.Steps, a.step(r, other, dst, m, decided))
		}
		if decided.IsEmpty() {
			continue
		}
		if r.Action == Allow {
			allowed = allowed.Union(decided)
		}
		remaining = remaining.Subtract(decided)
	}
	v.Default = remaining
	v.Allowed = allowed.Union(remaining)
	return v
}

func (a *Analysis) step(r *Rule, other, dst Endpoint, matched, decided ConnSet) Step {
	s := Step{Rule: r, Matched: matched, Decided: decided}
	if !r.allPeers {
		for _, p := range r.peers {
			if p.matches(other) {
				s.Peers = append(s.Peers, p.index)
			}
		}
	}
	if !r.allPorts {
		for _, pe := range r.ports {
			if c := pe.conns(dst); !c.IsEmpty() {
				s.Ports = append(s.Ports, PortHit{Index: pe.index, Conns: c})
			}
		}
	}
	return s
}

// Allowed returns the connections allowed from src to dst.
func (a *Analysis) Allowed(src, dst Endpoint) ConnSet {
	if s, d := src.cls, dst.cls; s != nil && d != nil && !s.synthetic && !d.synthetic {
		// Between workloads where NetworkPolicy alone decides, the per-class vectors answer
		// without walking every rule for every pair.
		eg, in := a.cachedBulk(Egress, s), a.cachedBulk(Ingress, d)
		if eg.fast && in.fast {
			return eg.get(d.id).Intersect(in.get(s.id))
		}
	}
	eg := a.decide(Egress, src, dst, dst, false)
	if eg.Allowed.IsEmpty() {
		return eg.Allowed
	}
	in := a.decide(Ingress, dst, src, dst, false)
	return eg.Allowed.Intersect(in.Allowed)
}

// Explanation is the full reasoning for one pair.
type Explanation struct {
	Src, Dst Endpoint
	Egress   Verdict
	Ingress  Verdict
	Allowed  ConnSet
}

// Explain returns why connections from src to dst are allowed or not, in both directions.
func (a *Analysis) Explain(src, dst Endpoint) Explanation {
	eg := a.decide(Egress, src, dst, dst, true)
	in := a.decide(Ingress, dst, src, dst, true)
	return Explanation{Src: src, Dst: dst, Egress: eg, Ingress: in, Allowed: eg.Allowed.Intersect(in.Allowed)}
}
