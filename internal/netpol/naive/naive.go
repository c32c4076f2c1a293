// Package naive is a deliberately simple, brute-force evaluator of NetworkPolicy and the admin
// network policies: one pod, one peer, one protocol and port at a time, written straight from
// the API reference with no grouping, no sets and no caching. It exists to check the real engine
// (package netpol) by differential testing; it is far too slow for anything else.
package naive

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// Pod is one pod: its namespace (and the namespace's labels), labels and container ports.
type Pod struct {
	Namespace   string
	NSLabels    map[string]string
	Labels      map[string]string
	Ports       []corev1.ContainerPort
	HostNetwork bool
	// NodeCIDRs hold the addresses of the nodes a host-network pod may run on (nil: unknown).
	// Its traffic is theirs: an address peer matches it when it holds all of them, or, unknown,
	// when it is a whole address family.
	NodeCIDRs []netip.Prefix
}

// holdsNode reports whether address peers (cidrs, less excepts) match a host-network pod.
func holdsNode(cidrs, except []netip.Prefix, nodes []netip.Prefix) bool {
	if len(nodes) == 0 {
		for _, c := range cidrs {
			if c.Bits() == 0 && len(except) == 0 {
				return true
			}
		}
		return false
	}
	for _, n := range nodes {
		held := false
		for _, c := range cidrs {
			if c.Addr().Is4() == n.Addr().Is4() && c.Bits() <= n.Bits() && c.Contains(n.Addr()) {
				held = true
			}
		}
		for _, x := range except {
			if x.Overlaps(n) {
				held = false
			}
		}
		if !held {
			return false
		}
	}
	return true
}

// Endpoint is a pod or an address outside the cluster's pods.
type Endpoint struct {
	Pod *Pod
	IP  netip.Addr
}

// Estate is what the evaluator reads.
type Estate struct {
	NetworkPolicies []*networkingv1.NetworkPolicy
	Admin           []*anpv1alpha1.AdminNetworkPolicy
	Baseline        *anpv1alpha1.BaselineAdminNetworkPolicy
}

// Allowed reports whether src may open a connection to dst on proto/port. proto "" stands for
// a protocol without ports (ICMP, ...), which only port-less rules match.
func (e *Estate) Allowed(src, dst Endpoint, proto corev1.Protocol, port int32) bool {
	return e.direction(true, src.Pod, dst, dst, proto, port) && e.direction(false, dst.Pod, src, dst, proto, port)
}

// direction decides egress (egress=true: subject is the source) or ingress for one subject pod.
func (e *Estate) direction(egress bool, subject *Pod, other, dst Endpoint, proto corev1.Protocol, port int32) bool {
	if subject == nil || subject.HostNetwork {
		return true
	}
	// 1. Admin policies, lowest priority number first; within one, rules in order.
	admin := slices.Clone(e.Admin)
	slices.SortStableFunc(admin, func(a, b *anpv1alpha1.AdminNetworkPolicy) int {
		if a.Spec.Priority != b.Spec.Priority {
			return int(a.Spec.Priority - b.Spec.Priority)
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, p := range admin {
		if !subjectMatches(p.Spec.Subject, subject) {
			continue
		}
		if egress {
			for _, r := range p.Spec.Egress {
				if anyPeer(r.To, other) && adminPorts(r.Ports, dst, proto, port) {
					switch r.Action {
					case "Allow":
						return true
					case "Deny":
						return false
					case "Pass":
						goto networkPolicies
					}
				}
			}
		} else {
			for _, r := range p.Spec.Ingress {
				var peers []anpv1alpha1.AdminNetworkPolicyEgressPeer
				for _, f := range r.From {
					peers = append(peers, anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: f.Namespaces, Pods: f.Pods})
				}
				if anyPeer(peers, other) && adminPorts(r.Ports, dst, proto, port) {
					switch r.Action {
					case "Allow":
						return true
					case "Deny":
						return false
					case "Pass":
						goto networkPolicies
					}
				}
			}
		}
	}
networkPolicies:
	// 2. NetworkPolicies: isolated if any selects the pod for this direction.
	isolated := false
	for _, np := range e.NetworkPolicies {
		if np.Namespace != subject.Namespace || !matches(&np.Spec.PodSelector, subject.Labels) {
			continue
		}
		if !hasType(np, egress) {
			continue
		}
		isolated = true
		if egress {
			for _, r := range np.Spec.Egress {
				if npPeers(np.Namespace, r.To, other) && npPorts(r.Ports, dst, proto, port) {
					return true
				}
			}
		} else {
			for _, r := range np.Spec.Ingress {
				if npPeers(np.Namespace, r.From, other) && npPorts(r.Ports, dst, proto, port) {
					return true
				}
			}
		}
	}
	if isolated {
		return false
	}
	// 3. The baseline, rules in order.
	if b := e.Baseline; b != nil && subjectMatches(b.Spec.Subject, subject) {
		if egress {
			for _, r := range b.Spec.Egress {
				var peers []anpv1alpha1.AdminNetworkPolicyEgressPeer
				for _, t := range r.To {
					peers = append(peers, anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: t.Namespaces, Pods: t.Pods, Networks: t.Networks})
				}
				if anyPeer(peers, other) && adminPorts(r.Ports, dst, proto, port) {
					return r.Action == "Allow"
				}
			}
		} else {
			for _, r := range b.Spec.Ingress {
				var peers []anpv1alpha1.AdminNetworkPolicyEgressPeer
				for _, f := range r.From {
					peers = append(peers, anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: f.Namespaces, Pods: f.Pods})
				}
				if anyPeer(peers, other) && adminPorts(r.Ports, dst, proto, port) {
					return r.Action == "Allow"
				}
			}
		}
	}
	// 4. Nothing says otherwise.
	return true
}

// hasType applies policyTypes, or its default: Ingress always, Egress when egress rules exist.
func hasType(np *networkingv1.NetworkPolicy, egress bool) bool {
	types := np.Spec.PolicyTypes
	if len(types) == 0 {
		types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
	}
	want := networkingv1.PolicyTypeIngress
	if egress {
		want = networkingv1.PolicyTypeEgress
	}
	return slices.Contains(types, want)
}

func matches(s *metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(l))
}

func npPeers(policyNS string, peers []networkingv1.NetworkPolicyPeer, e Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			if e.Pod != nil {
				if e.Pod.HostNetwork {
					var except []netip.Prefix
					for _, x := range p.IPBlock.Except {
						except = append(except, netip.MustParsePrefix(x))
					}
					if holdsNode([]netip.Prefix{netip.MustParsePrefix(p.IPBlock.CIDR)}, except, e.Pod.NodeCIDRs) {
						return true
					}
				}
				continue
			}
			cidr := netip.MustParsePrefix(p.IPBlock.CIDR)
			if !cidr.Contains(e.IP) {
				continue
			}
			excluded := false
			for _, x := range p.IPBlock.Except {
				if netip.MustParsePrefix(x).Contains(e.IP) {
					excluded = true
				}
			}
			if !excluded {
				return true
			}
			continue
		}
		if e.Pod == nil || e.Pod.HostNetwork {
			continue
		}
		nsOK := false
		if p.NamespaceSelector != nil {
			nsOK = matches(p.NamespaceSelector, e.Pod.NSLabels)
		} else {
			nsOK = e.Pod.Namespace == policyNS
		}
		podOK := p.PodSelector == nil || matches(p.PodSelector, e.Pod.Labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func npPorts(ports []networkingv1.NetworkPolicyPort, dst Endpoint, proto corev1.Protocol, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		want := corev1.ProtocolTCP
		if p.Protocol != nil {
			want = *p.Protocol
		}
		if proto != want {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.StrVal != "" {
			if dst.Pod != nil {
				for _, cp := range dst.Pod.Ports {
					cproto := cp.Protocol
					if cproto == "" {
						cproto = corev1.ProtocolTCP
					}
					if cp.Name == p.Port.StrVal && cproto == proto && cp.ContainerPort == port {
						return true
					}
				}
			}
			continue
		}
		end := p.Port.IntVal
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if port >= p.Port.IntVal && port <= end {
			return true
		}
	}
	return false
}

func subjectMatches(s anpv1alpha1.AdminNetworkPolicySubject, p *Pod) bool {
	if s.Namespaces != nil {
		return matches(s.Namespaces, p.NSLabels)
	}
	return s.Pods != nil && matches(&s.Pods.NamespaceSelector, p.NSLabels) && matches(&s.Pods.PodSelector, p.Labels)
}

func anyPeer(peers []anpv1alpha1.AdminNetworkPolicyEgressPeer, e Endpoint) bool {
	for _, p := range peers {
		switch {
		case p.Namespaces != nil:
			if e.Pod != nil && !e.Pod.HostNetwork && matches(p.Namespaces, e.Pod.NSLabels) {
				return true
			}
		case p.Pods != nil:
			if e.Pod != nil && !e.Pod.HostNetwork && matches(&p.Pods.NamespaceSelector, e.Pod.NSLabels) && matches(&p.Pods.PodSelector, e.Pod.Labels) {
				return true
			}
		case len(p.Networks) > 0:
			if e.Pod != nil && e.Pod.HostNetwork {
				var nets []netip.Prefix
				for _, n := range p.Networks {
					nets = append(nets, netip.MustParsePrefix(string(n)))
				}
				if holdsNode(nets, nil, e.Pod.NodeCIDRs) {
					return true
				}
				continue
			}
			for _, n := range p.Networks {
				cidr := netip.MustParsePrefix(string(n))
				if e.Pod == nil && cidr.Contains(e.IP) {
					return true
				}
				// Pod addresses are not known statically: a network holding a whole address
				// family holds every pod.
				if e.Pod != nil && !e.Pod.HostNetwork && cidr.Bits() == 0 {
					return true
				}
			}
		}
	}
	return false
}

func adminPorts(ports *[]anpv1alpha1.AdminNetworkPolicyPort, dst Endpoint, proto corev1.Protocol, port int32) bool {
	if ports == nil {
		return true
	}
	for _, p := range *ports {
		switch {
		case p.PortNumber != nil:
			want := p.PortNumber.Protocol
			if want == "" {
				want = corev1.ProtocolTCP
			}
			if want == proto && p.PortNumber.Port == port {
				return true
			}
		case p.PortRange != nil:
			want := p.PortRange.Protocol
			if want == "" {
				want = corev1.ProtocolTCP
			}
			if want == proto && port >= p.PortRange.Start && port <= p.PortRange.End {
				return true
			}
		case p.NamedPort != nil:
			if dst.Pod == nil || proto == "" {
				continue
			}
			for _, cp := range dst.Pod.Ports {
				cproto := cp.Protocol
				if cproto == "" {
					cproto = corev1.ProtocolTCP
				}
				if cp.Name == *p.NamedPort && cproto == proto && cp.ContainerPort == port {
					return true
				}
			}
		}
	}
	return false
}
