package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"redoubt.dev/redoubt/internal/inventory"
)

// Direction is ingress (traffic into the subject) or egress (traffic out of it).
type Direction uint8

// The two directions.
const (
	Ingress Direction = iota
	Egress
)

func (d Direction) String() string {
	if d == Ingress {
		return "ingress"
	}
	return "egress"
}

// field is the spec field of rules in this direction.
func (d Direction) field() string { return d.String() }

// peersField is the rule field holding peers in this direction.
func (d Direction) peersField() string {
	if d == Ingress {
		return "from"
	}
	return "to"
}

// Tier is a layer of policy, in order of precedence.
type Tier uint8

// The tiers: AdminNetworkPolicy rules first, then NetworkPolicy, then the baseline.
const (
	TierAdmin Tier = iota
	TierNetworkPolicy
	TierBaseline
)

// Kind names of the policies each tier holds.
const (
	KindNetworkPolicy              = "NetworkPolicy"
	KindAdminNetworkPolicy         = "AdminNetworkPolicy"
	KindBaselineAdminNetworkPolicy = "BaselineAdminNetworkPolicy"
)

// Action is what a rule does with the traffic it matches. NetworkPolicy rules only allow.
type Action string

// The actions.
const (
	Allow Action = "Allow"
	Deny  Action = "Deny"
	Pass  Action = "Pass"
)

// PolicyRef names one policy object and where it came from.
type PolicyRef struct {
	Kind      string
	Namespace string
	Name      string
	Origin    inventory.Origin
	// Priority is an AdminNetworkPolicy's priority.
	Priority int32
}

// Key is Kind/namespace/name.
func (r PolicyRef) Key() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// String renders "NetworkPolicy shop-web/web (web.yaml:107)".
func (r PolicyRef) String() string {
	s := r.Kind + " "
	if r.Namespace != "" {
		s += r.Namespace + "/"
	}
	s += r.Name
	if r.Kind == KindAdminNetworkPolicy {
		s += fmt.Sprintf(" priority %d", r.Priority)
	}
	if o := r.Origin.String(); o != "" {
		s += " (" + o + ")"
	}
	return s
}

// policy is one compiled policy: who it selects and its rules.
type policy struct {
	ref  PolicyRef
	tier Tier
	// namespace is a NetworkPolicy's namespace; subjects and podSelector-only peers live there.
	namespace string
	// subject selects the pods the policy applies to.
	subject selector
	// affects says whether the policy isolates or governs each direction (NetworkPolicy
	// policyTypes; for admin policies, whether it has rules in that direction).
	affects [2]bool
	rules   [2][]*Rule
	// order breaks ties among admin policies of equal priority.
	order int
}

// selector picks pods: those in namespaces matching ns (or in namespace own when ns is nil)
// whose labels match pods (any pod when pods is nil).
type selector struct {
	own  string
	ns   labels.Selector
	pods labels.Selector
}

func (s selector) matches(c *class) bool {
	if c == nil || c.hostNetwork {
		return false
	}
	return s.matchesLabels(c)
}

// matchesLabels decides by namespace and pod labels alone, host networking aside: it says
// which host-network pods a selector would pick if NetworkPolicy governed them.
func (s selector) matchesLabels(c *class) bool {
	if s.ns == nil {
		if c.ns.name != s.own {
			return false
		}
	} else if !s.ns.Matches(c.ns.labels) {
		return false
	}
	return s.pods == nil || s.pods.Matches(c.labels)
}

// Rule is one compiled rule of one policy.
type Rule struct {
	policy *policy
	dir    Direction
	// Index is the rule's position in spec.ingress or spec.egress.
	Index int
	// Name is an admin policy rule's name.
	Name   string
	Action Action
	// allPeers is true when the rule names no peers (every source or destination).
	allPeers bool
	peers    []*peer
	// allPorts is true when the rule names no ports.
	allPorts bool
	ports    []*portEntry
}

// Policy returns the policy the rule belongs to.
func (r *Rule) Policy() PolicyRef { return r.policy.ref }

// Direction is the direction of the rule.
func (r *Rule) Direction() Direction { return r.dir }

// Path is the rule's place in its policy: "spec.ingress[0]".
func (r *Rule) Path() string {
	return fmt.Sprintf("spec.%s[%d]", r.dir.field(), r.Index)
}

// String renders "NetworkPolicy shop-web/web (web.yaml:107) spec.egress[0]".
func (r *Rule) String() string {
	s := r.policy.ref.String() + " " + r.Path()
	if r.Name != "" {
		s += fmt.Sprintf(" %q", r.Name)
	}
	return s
}

// NumPeers and NumPorts count the rule's peers and port entries (0 when it names none).
func (r *Rule) NumPeers() int { return len(r.peers) }

// NumPorts counts the rule's port entries.
func (r *Rule) NumPorts() int { return len(r.ports) }

// AllPeers reports a rule that names no peers; AllPorts one that names no ports.
func (r *Rule) AllPeers() bool { return r.allPeers }

// AllPorts reports a rule that names no ports.
func (r *Rule) AllPorts() bool { return r.allPorts }

// peer is one entry of a rule's from or to.
type peer struct {
	index int
	// pods selects pods when hasPods is set.
	hasPods bool
	pods    selector
	// ips holds the addresses an ipBlock or networks peer names; podsByIP is set when those
	// addresses cover every pod address (admin policy networks such as 0.0.0.0/0).
	ips      IPSet
	podsByIP bool
	// desc renders the peer for explanations.
	desc string
	// cache holds, per class, 1 when the peer matches it and -1 when it does not.
	cache []int8
	// matched lists the real classes it matches, once computed (see classes).
	matched     []*class
	matchedDone bool
}

func (p *peer) matchesClass(c *class) bool {
	if c.id < len(p.cache) {
		if v := p.cache[c.id]; v != 0 {
			return v > 0
		}
	} else {
		p.cache = append(p.cache, make([]int8, c.id+1-len(p.cache))...)
	}
	m := p.matchesUncached(c)
	p.cache[c.id] = -1
	if m {
		p.cache[c.id] = 1
	}
	return m
}

// matchesUncached decides without the per-class cache, which costs a byte per class and peer.
func (p *peer) matchesUncached(c *class) bool {
	if c.hostNetwork {
		return p.admitsNode(c.hostAddrs)
	}
	return (p.hasPods && p.pods.matches(c)) || p.podsByIP
}

// admitsNode reports whether an address peer (ipBlock, networks) matches traffic from or to a
// host-network pod, which is the node's: when it holds every node address (the pod may run on
// any node), or, when those are not known, every address of a family.
func (p *peer) admitsNode(nodes IPSet) bool {
	if len(p.ips) == 0 {
		return false
	}
	if len(nodes) > 0 {
		return p.ips.ContainsSet(nodes)
	}
	return p.ips.ContainsSet(IPSet{allIPv4}) || p.ips.ContainsSet(IPSet{allIPv6})
}

func (p *peer) matches(e Endpoint) bool {
	if e.cls != nil {
		return p.matchesClass(e.cls)
	}
	return len(p.ips) > 0 && p.ips.ContainsSet(e.IPs)
}

// portEntry is one entry of a rule's ports.
type portEntry struct {
	index    int
	proto    Protocol
	from, to int32
	// name is a named port, resolved on the destination pod.
	name string
}

// conns resolves the entry at a destination: a named port becomes the number the destination
// pod gives that name for the protocol, or nothing.
func (pe *portEntry) conns(dst Endpoint) ConnSet {
	if pe.name == "" {
		return PortConns(pe.proto, pe.from, pe.to)
	}
	if dst.cls == nil {
		return NoConns()
	}
	for _, np := range dst.cls.ports {
		if np.name == pe.name && np.proto == pe.proto {
			return PortConns(np.proto, np.port, np.port)
		}
	}
	return NoConns()
}

func (pe *portEntry) String() string {
	switch {
	case pe.name != "":
		return fmt.Sprintf("%s %s", pe.proto, pe.name)
	case pe.from == MinPort && pe.to == MaxPort:
		return pe.proto.String() + " all ports"
	case pe.from == pe.to:
		return fmt.Sprintf("%s %d", pe.proto, pe.from)
	}
	return fmt.Sprintf("%s %d-%d", pe.proto, pe.from, pe.to)
}

// ruleConns is what the rule's ports allow at the destination.
func (r *Rule) conns(dst Endpoint) ConnSet {
	if r.allPorts {
		return AllConns()
	}
	var c ConnSet
	for _, pe := range r.ports {
		c = c.Union(pe.conns(dst))
	}
	return c
}

// matchingPeers returns the indexes of the rule's peers that match e, and whether any does.
func (r *Rule) matchPeers(e Endpoint) bool {
	if r.allPeers {
		return true
	}
	for _, p := range r.peers {
		if p.matches(e) {
			return true
		}
	}
	return false
}

// Refused is a policy the API server would not accept, and why.
type Refused struct {
	Ref    PolicyRef
	Reason string
}

// compiler turns policy objects into compiled policies, recording why it refuses one.
type compiler struct {
	// podKeys are the label keys pod selectors use.
	podKeys  map[string]bool
	problems []inventory.Problem
	refused  []Refused
	notes    []string
	// podAddrs are the addresses pods have, when known (for admin policy networks peers).
	podAddrs IPSet
}

func (c *compiler) refuse(ref PolicyRef, format string, args ...any) {
	c.refused = append(c.refused, Refused{Ref: ref, Reason: fmt.Sprintf(format, args...)})
	c.problems = append(c.problems, inventory.Problem{
		File: ref.Origin.File, Line: ref.Origin.Line,
		Object:  fmt.Sprintf("%s %s", ref.Kind, strings.TrimPrefix(ref.Key(), ref.Kind+"/")),
		Message: fmt.Sprintf(format, args...) + "; the API server refuses such a policy, so it is left out of the analysis",
	})
}

// usePodKeys records the keys a pod selector uses.
func (c *compiler) usePodKeys(s *metav1.LabelSelector) {
	if s == nil {
		return
	}
	if c.podKeys == nil {
		c.podKeys = map[string]bool{}
	}
	for k := range s.MatchLabels {
		c.podKeys[k] = true
	}
	for _, e := range s.MatchExpressions {
		c.podKeys[e.Key] = true
	}
}

func labelSelector(s *metav1.LabelSelector, path string) (labels.Selector, error) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return sel, nil
}

// networkPolicy compiles a NetworkPolicy, or returns nil (with a problem) when the API server
// would refuse it.
func (c *compiler) networkPolicy(np *inventory.NetworkPolicy) *policy {
	ref := PolicyRef{Kind: KindNetworkPolicy, Namespace: np.Namespace, Name: np.Name, Origin: np.Origin}
	p := &policy{ref: ref, tier: TierNetworkPolicy, namespace: np.Namespace}
	spec := &np.Spec
	c.usePodKeys(&spec.PodSelector)
	sel, err := labelSelector(&spec.PodSelector, "spec.podSelector")
	if err != nil {
		c.refuse(ref, "%v", err)
		return nil
	}
	p.subject = selector{own: np.Namespace, pods: sel}
	types := spec.PolicyTypes
	if len(types) == 0 {
		// The API server's default, for objects that did not come through the Builder.
		types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(spec.Egress) > 0 {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
	}
	if len(types) > 2 {
		c.refuse(ref, "spec.policyTypes: at most 2 values (Ingress, Egress)")
		return nil
	}
	for i, t := range types {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.affects[Ingress] = true
		case networkingv1.PolicyTypeEgress:
			p.affects[Egress] = true
		default:
			c.refuse(ref, "spec.policyTypes[%d]: %q is not Ingress or Egress", i, t)
			return nil
		}
	}
	for i, r := range spec.Ingress {
		rule, err := c.npRule(p, Ingress, i, r.From, r.Ports)
		if err != nil {
			c.refuse(ref, "%v", err)
			return nil
		}
		p.rules[Ingress] = append(p.rules[Ingress], rule)
	}
	for i, r := range spec.Egress {
		rule, err := c.npRule(p, Egress, i, r.To, r.Ports)
		if err != nil {
			c.refuse(ref, "%v", err)
			return nil
		}
		p.rules[Egress] = append(p.rules[Egress], rule)
	}
	// Rules in a direction the policy does not affect are ignored by the API (a policy with
	// policyTypes [Ingress] and egress rules only isolates for ingress).
	for d := range 2 {
		if !p.affects[d] {
			p.rules[d] = nil
		}
	}
	return p
}

func (c *compiler) npRule(p *policy, dir Direction, index int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (*Rule, error) {
	path := fmt.Sprintf("spec.%s[%d]", dir.field(), index)
	r := &Rule{policy: p, dir: dir, Index: index, Action: Allow, allPeers: len(peers) == 0, allPorts: len(ports) == 0}
	for j, pr := range peers {
		pp := fmt.Sprintf("%s.%s[%d]", path, dir.peersField(), j)
		pe := &peer{index: j}
		n := 0
		var descs []string
		if pr.PodSelector != nil {
			n++
			c.usePodKeys(pr.PodSelector)
			sel, err := labelSelector(pr.PodSelector, pp+".podSelector")
			if err != nil {
				return nil, err
			}
			pe.hasPods = true
			pe.pods = selector{own: p.namespace, pods: sel}
			descs = append(descs, "podSelector "+selectorString(pr.PodSelector))
		}
		if pr.NamespaceSelector != nil {
			n++
			sel, err := labelSelector(pr.NamespaceSelector, pp+".namespaceSelector")
			if err != nil {
				return nil, err
			}
			pe.hasPods = true
			pe.pods.ns = sel
			descs = append([]string{"namespaceSelector " + selectorString(pr.NamespaceSelector)}, descs...)
		}
		if pr.IPBlock != nil {
			n++
			ips, err := ipBlock(pr.IPBlock, pp+".ipBlock")
			if err != nil {
				return nil, err
			}
			pe.ips = ips
			d := "ipBlock " + pr.IPBlock.CIDR
			if len(pr.IPBlock.Except) > 0 {
				d += " except " + strings.Join(pr.IPBlock.Except, ",")
			}
			descs = append(descs, d)
		}
		switch {
		case n == 0:
			return nil, fmt.Errorf("%s: must specify a peer (podSelector, namespaceSelector or ipBlock)", pp)
		case n > 1 && pr.IPBlock != nil:
			return nil, fmt.Errorf("%s: may not specify both ipBlock and a selector", pp)
		}
		pe.desc = strings.Join(descs, " and ")
		r.peers = append(r.peers, pe)
	}
	for j, port := range ports {
		pp := fmt.Sprintf("%s.ports[%d]", path, j)
		proto, err := protocolOf(port.Protocol)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", pp, err)
		}
		pe := &portEntry{index: j, proto: proto, from: MinPort, to: MaxPort}
		if port.Port != nil {
			switch port.Port.Type {
			case intstr.Int:
				v := port.Port.IntVal
				if v < MinPort || v > MaxPort {
					return nil, fmt.Errorf("%s.port: %d is not a port number (1-65535)", pp, v)
				}
				pe.from, pe.to = v, v
			case intstr.String:
				if msgs := validation.IsValidPortName(port.Port.StrVal); len(msgs) > 0 {
					return nil, fmt.Errorf("%s.port: %q is not a valid port name: %s", pp, port.Port.StrVal, strings.Join(msgs, "; "))
				}
				pe.name = port.Port.StrVal
			}
		}
		if port.EndPort != nil {
			switch {
			case port.Port == nil:
				return nil, fmt.Errorf("%s.endPort: may not be set without port", pp)
			case pe.name != "":
				return nil, fmt.Errorf("%s.endPort: may not be set when port is named (%q)", pp, pe.name)
			case *port.EndPort < pe.from:
				return nil, fmt.Errorf("%s.endPort: %d is less than port %d", pp, *port.EndPort, pe.from)
			case *port.EndPort > MaxPort:
				return nil, fmt.Errorf("%s.endPort: %d is not a port number (1-65535)", pp, *port.EndPort)
			}
			pe.to = *port.EndPort
		}
		r.ports = append(r.ports, pe)
	}
	return r, nil
}

// ipBlock is the set of addresses an ipBlock names: its CIDR minus its exceptions.
func ipBlock(b *networkingv1.IPBlock, path string) (IPSet, error) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return nil, fmt.Errorf("%s.cidr: %q is not a CIDR", path, b.CIDR)
	}
	cidr = cidr.Masked()
	set := PrefixSet(cidr)
	for i, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("%s.except[%d]: %q is not a CIDR", path, i, e)
		}
		ex = ex.Masked()
		if ex.Addr().Is4() != cidr.Addr().Is4() || ex.Bits() <= cidr.Bits() || !cidr.Contains(ex.Addr()) {
			return nil, fmt.Errorf("%s.except[%d]: %s must be a strict subset of cidr %s", path, i, e, b.CIDR)
		}
		set = set.Subtract(PrefixSet(ex))
	}
	return set, nil
}

// selectorString renders a label selector the way a person writes it: {} for everything.
func selectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return "<none>"
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "<invalid>"
	}
	if sel.Empty() {
		return "{}"
	}
	return "{" + sel.String() + "}"
}

// adminPolicy compiles an AdminNetworkPolicy, or returns nil (with a problem) when it is invalid.
func (c *compiler) adminPolicy(anp *inventory.AdminNetworkPolicy, order int) *policy {
	ref := PolicyRef{Kind: KindAdminNetworkPolicy, Name: anp.Name, Origin: anp.Origin, Priority: anp.Spec.Priority}
	if anp.Spec.Priority < 0 || anp.Spec.Priority > 1000 {
		c.refuse(ref, "spec.priority: %d is not between 0 and 1000", anp.Spec.Priority)
		return nil
	}
	p := &policy{ref: ref, tier: TierAdmin, order: order}
	if !c.adminCommon(p, anp.Spec.Subject) {
		return nil
	}
	for i, r := range anp.Spec.Ingress {
		rule := c.adminRule(p, Ingress, i, r.Name, string(r.Action), ingressPeers(r.From), r.Ports)
		if rule == nil {
			return nil
		}
		p.rules[Ingress] = append(p.rules[Ingress], rule)
	}
	for i, r := range anp.Spec.Egress {
		rule := c.adminRule(p, Egress, i, r.Name, string(r.Action), r.To, r.Ports)
		if rule == nil {
			return nil
		}
		p.rules[Egress] = append(p.rules[Egress], rule)
	}
	p.affects = [2]bool{len(p.rules[Ingress]) > 0, len(p.rules[Egress]) > 0}
	return p
}

// baselinePolicy compiles the BaselineAdminNetworkPolicy, or returns nil when it is invalid.
func (c *compiler) baselinePolicy(banp *inventory.BaselineAdminNetworkPolicy) *policy {
	ref := PolicyRef{Kind: KindBaselineAdminNetworkPolicy, Name: banp.Name, Origin: banp.Origin}
	if banp.Name != "default" {
		c.refuse(ref, "a BaselineAdminNetworkPolicy must be named \"default\"")
		return nil
	}
	p := &policy{ref: ref, tier: TierBaseline}
	if !c.adminCommon(p, banp.Spec.Subject) {
		return nil
	}
	for i, r := range banp.Spec.Ingress {
		if r.Action == "Pass" {
			c.refuse(ref, "spec.ingress[%d].action: Pass is not allowed in a baseline policy", i)
			return nil
		}
		rule := c.adminRule(p, Ingress, i, r.Name, string(r.Action), ingressPeers(r.From), r.Ports)
		if rule == nil {
			return nil
		}
		p.rules[Ingress] = append(p.rules[Ingress], rule)
	}
	for i, r := range banp.Spec.Egress {
		if r.Action == "Pass" {
			c.refuse(ref, "spec.egress[%d].action: Pass is not allowed in a baseline policy", i)
			return nil
		}
		to := make([]anpv1alpha1.AdminNetworkPolicyEgressPeer, len(r.To))
		for j, t := range r.To {
			to[j] = anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: t.Namespaces, Pods: t.Pods, Nodes: t.Nodes, Networks: t.Networks}
		}
		rule := c.adminRule(p, Egress, i, r.Name, string(r.Action), to, r.Ports)
		if rule == nil {
			return nil
		}
		p.rules[Egress] = append(p.rules[Egress], rule)
	}
	p.affects = [2]bool{len(p.rules[Ingress]) > 0, len(p.rules[Egress]) > 0}
	return p
}

func ingressPeers(from []anpv1alpha1.AdminNetworkPolicyIngressPeer) []anpv1alpha1.AdminNetworkPolicyEgressPeer {
	out := make([]anpv1alpha1.AdminNetworkPolicyEgressPeer, len(from))
	for i, f := range from {
		out[i] = anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: f.Namespaces, Pods: f.Pods}
	}
	return out
}

func (c *compiler) adminCommon(p *policy, subj anpv1alpha1.AdminNetworkPolicySubject) bool {
	s, _, err := namespacedPods(subj.Namespaces, subj.Pods, "spec.subject", c.usePodKeys)
	if err != nil {
		c.refuse(p.ref, "%v", err)
		return false
	}
	p.subject = s
	return true
}

// namespacedPods compiles the namespaces-or-pods choice admin policies use for subjects and peers.
func namespacedPods(ns *metav1.LabelSelector, pods *anpv1alpha1.NamespacedPod, path string, keys func(*metav1.LabelSelector)) (selector, string, error) {
	switch {
	case ns != nil && pods != nil:
		return selector{}, "", fmt.Errorf("%s: set exactly one of namespaces and pods", path)
	case ns != nil:
		sel, err := labelSelector(ns, path+".namespaces")
		if err != nil {
			return selector{}, "", err
		}
		return selector{ns: sel}, "namespaces " + selectorString(ns), nil
	case pods != nil:
		keys(&pods.PodSelector)
		nsSel, err := labelSelector(&pods.NamespaceSelector, path+".pods.namespaceSelector")
		if err != nil {
			return selector{}, "", err
		}
		podSel, err := labelSelector(&pods.PodSelector, path+".pods.podSelector")
		if err != nil {
			return selector{}, "", err
		}
		return selector{ns: nsSel, pods: podSel}, "pods in namespaces " + selectorString(&pods.NamespaceSelector) +
			" with " + selectorString(&pods.PodSelector), nil
	}
	return selector{}, "", fmt.Errorf("%s: set exactly one of namespaces and pods", path)
}

func (c *compiler) adminRule(p *policy, dir Direction, index int, name, action string,
	peers []anpv1alpha1.AdminNetworkPolicyEgressPeer, ports *[]anpv1alpha1.AdminNetworkPolicyPort) *Rule {
	path := fmt.Sprintf("spec.%s[%d]", dir.field(), index)
	r := &Rule{policy: p, dir: dir, Index: index, Name: name, Action: Action(action)}
	switch r.Action {
	case Allow, Deny, Pass:
	default:
		c.refuse(p.ref, "%s.action: %q is not Allow, Deny or Pass", path, action)
		return nil
	}
	if len(peers) == 0 {
		c.refuse(p.ref, "%s.%s: at least one peer is required", path, dir.peersField())
		return nil
	}
	for j, pr := range peers {
		pp := fmt.Sprintf("%s.%s[%d]", path, dir.peersField(), j)
		pe := &peer{index: j}
		set := 0
		if pr.Namespaces != nil || pr.Pods != nil {
			set++
			s, desc, err := namespacedPods(pr.Namespaces, pr.Pods, pp, c.usePodKeys)
			if err != nil {
				c.refuse(p.ref, "%v", err)
				return nil
			}
			pe.hasPods, pe.pods, pe.desc = true, s, desc
		}
		if len(pr.Networks) > 0 {
			set++
			var descs []string
			for k, n := range pr.Networks {
				pfx, err := netip.ParsePrefix(string(n))
				if err != nil || pfx.Masked() != pfx {
					c.refuse(p.ref, "%s.networks[%d]: %q is not a CIDR in canonical form", pp, k, n)
					return nil
				}
				pe.ips = pe.ips.Union(PrefixSet(pfx))
				descs = append(descs, string(n))
			}
			pe.desc = "networks " + strings.Join(descs, ",")
			pe.podsByIP = c.coversPods(pe.ips, p.ref, pp)
		}
		if pr.Nodes != nil {
			set++
			pe.desc = "nodes " + selectorString(pr.Nodes)
			c.notes = append(c.notes, fmt.Sprintf("%s %s: nodes peers are not analysed (node addresses are not modelled); the peer is treated as matching nothing", p.ref, pp))
		}
		if len(pr.DomainNames) > 0 {
			set++
			pe.desc = "domainNames " + fmt.Sprint(pr.DomainNames)
			c.notes = append(c.notes, fmt.Sprintf("%s %s: domainNames peers are not analysed (names are resolved at run time); the peer is treated as matching nothing", p.ref, pp))
		}
		if set != 1 {
			c.refuse(p.ref, "%s: set exactly one of namespaces, pods, nodes, networks and domainNames", pp)
			return nil
		}
		r.peers = append(r.peers, pe)
	}
	if ports == nil {
		r.allPorts = true
		return r
	}
	if len(*ports) == 0 {
		c.refuse(p.ref, "%s.ports: when set, at least one port is required", path)
		return nil
	}
	for j, port := range *ports {
		pp := fmt.Sprintf("%s.ports[%d]", path, j)
		pe := &portEntry{index: j}
		set := 0
		if pn := port.PortNumber; pn != nil {
			set++
			proto, err := protocolOf(&pn.Protocol)
			if err != nil || pn.Port < MinPort || pn.Port > MaxPort {
				c.refuse(p.ref, "%s.portNumber: want a protocol of TCP, UDP or SCTP and a port from 1 to 65535", pp)
				return nil
			}
			pe.proto, pe.from, pe.to = proto, pn.Port, pn.Port
		}
		if pr := port.PortRange; pr != nil {
			set++
			proto, err := protocolOf(&pr.Protocol)
			if err != nil || pr.Start < MinPort || pr.End > MaxPort || pr.Start >= pr.End {
				c.refuse(p.ref, "%s.portRange: want a protocol of TCP, UDP or SCTP and 1 <= start < end <= 65535", pp)
				return nil
			}
			pe.proto, pe.from, pe.to = proto, pr.Start, pr.End
		}
		if port.NamedPort != nil {
			set++
			if slices.ContainsFunc(peers, func(p anpv1alpha1.AdminNetworkPolicyEgressPeer) bool {
				return len(p.Networks) > 0 || p.Nodes != nil || len(p.DomainNames) > 0
			}) {
				c.refuse(p.ref, "%s.namedPort: a rule with networks, nodes or domainNames peers cannot use named ports", pp)
				return nil
			}
			if msgs := validation.IsValidPortName(*port.NamedPort); len(msgs) > 0 {
				c.refuse(p.ref, "%s.namedPort: %q is not a valid port name", pp, *port.NamedPort)
				return nil
			}
			// A named port in an admin policy names the port whatever its protocol; Redoubt
			// resolves it as TCP, UDP and SCTP alike (see conns).
			pe.name = *port.NamedPort
			pe.proto = TCP
		}
		if set != 1 {
			c.refuse(p.ref, "%s: set exactly one of portNumber, portRange and namedPort", pp)
			return nil
		}
		r.ports = append(r.ports, pe)
		if pe.name != "" {
			// Named ports in admin policies are protocol-agnostic: add entries for the other
			// protocols so that resolution finds the port whatever its protocol.
			for _, proto := range []Protocol{UDP, SCTP} {
				r.ports = append(r.ports, &portEntry{index: j, proto: proto, name: pe.name})
			}
		}
	}
	return r
}

// coversPods reports whether networks (from an admin policy) hold every pod address. Such
// networks match pods too ("Allow to 0.0.0.0/0 allows pod-to-pod traffic as well"). When pod
// addresses are unknown, only a whole address family counts.
func (c *compiler) coversPods(ips IPSet, ref PolicyRef, path string) bool {
	if len(c.podAddrs) > 0 {
		if ips.ContainsSet(c.podAddrs) {
			return true
		}
		if len(ips.Intersect(c.podAddrs)) > 0 {
			c.notes = append(c.notes, fmt.Sprintf("%s %s: the networks cover some pod addresses (%s) but not all: the peer is applied to addresses outside the cluster only", ref, path, c.podAddrs))
		}
		return false
	}
	return ips.ContainsSet(IPSet{allIPv4}) || ips.ContainsSet(IPSet{allIPv6})
}

// sortAdmin orders admin policies by priority (lower first), then name.
func sortAdmin(ps []*policy) {
	slices.SortStableFunc(ps, func(a, b *policy) int {
		return cmp.Or(cmp.Compare(a.ref.Priority, b.ref.Priority), cmp.Compare(a.ref.Name, b.ref.Name))
	})
}
