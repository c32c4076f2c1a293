package netpol_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/estate"
	"redoubt.dev/redoubt/internal/netpol/naive"
)

// snapshotOf builds a snapshot from an estate through the real Builder. With raw set, policies
// skip the Builder's defaults, so the engine's own policyTypes inference is exercised.
func snapshotOf(e *estate.Estate, raw bool) *inventory.Snapshot {
	b := inventory.NewBuilder(inventory.Source{Kind: inventory.SourceManifests}, "")
	var rawPolicies []*networkingv1.NetworkPolicy
	for i, o := range e.Objects {
		if np, ok := o.(*networkingv1.NetworkPolicy); ok && raw {
			rawPolicies = append(rawPolicies, np.DeepCopy())
			continue
		}
		b.Add(o.DeepCopyObject(), inventory.Origin{File: "estate.yaml", Line: i + 1}, nil)
	}
	s := b.Snapshot()
	for _, np := range rawPolicies {
		s.NetworkPolicies = append(s.NetworkPolicies, &inventory.NetworkPolicy{NetworkPolicy: np})
	}
	return s
}

// naiveOf gives the brute-force evaluator the same estate, straight from the objects.
func naiveOf(e *estate.Estate, s *inventory.Snapshot, nodes []netip.Prefix) (*naive.Estate, map[*inventory.Workload]*naive.Pod) {
	n := &naive.Estate{}
	for _, o := range e.Objects {
		switch x := o.(type) {
		case *networkingv1.NetworkPolicy:
			n.NetworkPolicies = append(n.NetworkPolicies, x)
		case *anpv1alpha1.AdminNetworkPolicy:
			n.Admin = append(n.Admin, x)
		case *anpv1alpha1.BaselineAdminNetworkPolicy:
			n.Baseline = x
		}
	}
	pods := map[*inventory.Workload]*naive.Pod{}
	for _, w := range s.Workloads {
		p := &naive.Pod{Namespace: w.Namespace, NSLabels: s.Namespace(w.Namespace).Labels, Labels: w.Template.Labels,
			HostNetwork: w.Template.Spec.HostNetwork}
		if p.HostNetwork {
			p.NodeCIDRs = nodes
		}
		for _, c := range w.Template.Spec.Containers {
			p.Ports = append(p.Ports, c.Ports...)
		}
		pods[w] = p
	}
	return n, pods
}

// probes are the ports and addresses where answers can change: every number and CIDR the
// estate names, and their neighbours.
func probes(e *estate.Estate) ([]int32, []netip.Addr) {
	ports := []int32{1, 2, 65534, 65535}
	addPort := func(p int32) {
		for _, x := range []int32{p - 1, p, p + 1} {
			if x >= 1 && x <= 65535 {
				ports = append(ports, x)
			}
		}
	}
	var prefixes []netip.Prefix
	for _, o := range e.Objects {
		switch x := o.(type) {
		case *networkingv1.NetworkPolicy:
			for _, r := range x.Spec.Ingress {
				for _, p := range r.Ports {
					if p.Port != nil && p.Port.IntVal > 0 {
						addPort(p.Port.IntVal)
					}
					if p.EndPort != nil {
						addPort(*p.EndPort)
					}
				}
				for _, peer := range r.From {
					if peer.IPBlock != nil {
						prefixes = append(prefixes, netip.MustParsePrefix(peer.IPBlock.CIDR))
						for _, ex := range peer.IPBlock.Except {
							prefixes = append(prefixes, netip.MustParsePrefix(ex))
						}
					}
				}
			}
			for _, r := range x.Spec.Egress {
				for _, p := range r.Ports {
					if p.Port != nil && p.Port.IntVal > 0 {
						addPort(p.Port.IntVal)
					}
					if p.EndPort != nil {
						addPort(*p.EndPort)
					}
				}
				for _, peer := range r.To {
					if peer.IPBlock != nil {
						prefixes = append(prefixes, netip.MustParsePrefix(peer.IPBlock.CIDR))
						for _, ex := range peer.IPBlock.Except {
							prefixes = append(prefixes, netip.MustParsePrefix(ex))
						}
					}
				}
			}
		case *anpv1alpha1.AdminNetworkPolicy:
			for _, r := range x.Spec.Egress {
				for _, p := range r.To {
					for _, n := range p.Networks {
						prefixes = append(prefixes, netip.MustParsePrefix(string(n)))
					}
				}
			}
			for _, rs := range [][]anpv1alpha1.AdminNetworkPolicyPort{adminPortsOf(x.Spec.Ingress, x.Spec.Egress)} {
				for _, p := range rs {
					if p.PortNumber != nil {
						addPort(p.PortNumber.Port)
					}
					if p.PortRange != nil {
						addPort(p.PortRange.Start)
						addPort(p.PortRange.End)
					}
				}
			}
		case *anpv1alpha1.BaselineAdminNetworkPolicy:
			for _, r := range x.Spec.Egress {
				for _, p := range r.To {
					for _, n := range p.Networks {
						prefixes = append(prefixes, netip.MustParsePrefix(string(n)))
					}
				}
				if r.Ports != nil {
					for _, p := range *r.Ports {
						if p.PortRange != nil {
							addPort(p.PortRange.Start)
							addPort(p.PortRange.End)
						}
						if p.PortNumber != nil {
							addPort(p.PortNumber.Port)
						}
					}
				}
			}
			for _, r := range x.Spec.Ingress {
				if r.Ports != nil {
					for _, p := range *r.Ports {
						if p.PortRange != nil {
							addPort(p.PortRange.Start)
							addPort(p.PortRange.End)
						}
						if p.PortNumber != nil {
							addPort(p.PortNumber.Port)
						}
					}
				}
			}
		}
	}
	slices.Sort(ports)
	ports = slices.Compact(ports)
	addrs := []netip.Addr{netip.MustParseAddr("8.8.4.4"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255")}
	for _, p := range prefixes {
		first := p.Masked().Addr()
		addrs = append(addrs, first, first.Prev(), lastOf(p), lastOf(p).Next())
	}
	var out []netip.Addr
	for _, a := range addrs {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return ports, slices.Compact(out)
}

func adminPortsOf(in []anpv1alpha1.AdminNetworkPolicyIngressRule, eg []anpv1alpha1.AdminNetworkPolicyEgressRule) []anpv1alpha1.AdminNetworkPolicyPort {
	var out []anpv1alpha1.AdminNetworkPolicyPort
	for _, r := range in {
		if r.Ports != nil {
			out = append(out, *r.Ports...)
		}
	}
	for _, r := range eg {
		if r.Ports != nil {
			out = append(out, *r.Ports...)
		}
	}
	return out
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

var protocols = []struct {
	naive corev1.Protocol
	p     netpol.Protocol
}{{corev1.ProtocolTCP, netpol.TCP}, {corev1.ProtocolUDP, netpol.UDP}, {corev1.ProtocolSCTP, netpol.SCTP}}

// agree compares the engine's answer for one pair with the naive evaluator at every probe.
func agree(t *testing.T, label string, got netpol.ConnSet, n *naive.Estate, src, dst naive.Endpoint, ports []int32) bool {
	t.Helper()
	for _, pr := range protocols {
		for _, port := range ports {
			want := n.Allowed(src, dst, pr.naive, port)
			if got.Contains(pr.p, port) != want {
				t.Errorf("%s: %d/%s: engine says %v (%s), naive evaluator says %v", label, port, pr.p, !want, got, want)
				return false
			}
		}
	}
	if want := n.Allowed(src, dst, "", 0); got.Other != want {
		t.Errorf("%s: other protocols: engine says %v (%s), naive evaluator says %v", label, got.Other, got, want)
		return false
	}
	return true
}

var nodeChoices = [][]netip.Prefix{
	nil,
	{netip.MustParsePrefix("10.1.2.7/32")},
	{netip.MustParsePrefix("10.1.0.0/20")},
	{netip.MustParsePrefix("192.168.3.0/24"), netip.MustParsePrefix("10.1.2.9/32")},
	{netip.MustParsePrefix("10.3.1.4/32"), netip.MustParsePrefix("fd00::7/128")},
}

func TestDifferentialAgainstNaiveEvaluator(t *testing.T) {
	runs := 300
	if testing.Short() || raceEnabled {
		runs = 60
	}
	for i := range runs {
		seed := uint64(i)
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		size := estate.Random{Namespaces: 2 + r.IntN(3), Workloads: 3 + r.IntN(6), Policies: r.IntN(6), AdminPolicies: r.IntN(3), Baseline: r.IntN(3) == 0}
		e := estate.NewRandom(r, size)
		raw := i%2 == 1
		s := snapshotOf(e, raw)
		// Host-network pods' nodes: unknown, or addresses inside, across and outside the
		// generator's CIDRs and excepts.
		nodes := nodeChoices[i%len(nodeChoices)]
		a := netpol.Analyze(s, netpol.Options{NodeCIDRs: nodes})
		if len(a.Problems) > 0 {
			t.Fatalf("seed %d: the generator made a policy the engine refuses: %v", seed, a.Problems)
		}
		n, pods := naiveOf(e, s, nodes)
		ports, addrs := probes(e)
		// Index the bulk listing, which groups workloads and merges address ranges.
		listed := map[string]netpol.ConnSet{}
		var toAddrs, fromAddrs = map[string][]netpol.Connection{}, map[string][]netpol.Connection{}
		for _, c := range a.Connections() {
			switch {
			case c.Src.Workload != nil && c.Dst.Workload != nil:
				listed[c.Src.String()+" "+c.Dst.String()] = c.Conns
			case c.Src.Workload != nil:
				toAddrs[c.Src.String()] = append(toAddrs[c.Src.String()], c)
			default:
				fromAddrs[c.Dst.String()] = append(fromAddrs[c.Dst.String()], c)
			}
		}
		failed := false
		for _, ws := range s.Workloads {
			se := a.WorkloadEndpoint(ws)
			nsrc := naive.Endpoint{Pod: pods[ws]}
			for _, wd := range s.Workloads {
				de := a.WorkloadEndpoint(wd)
				label := fmt.Sprintf("seed %d: %s => %s", seed, se, de)
				got := a.Allowed(se, de)
				if !agree(t, label, got, n, nsrc, naive.Endpoint{Pod: pods[wd]}, ports) {
					failed = true
				}
				if ex := a.Explain(se, de); !ex.Allowed.Equal(got) {
					t.Errorf("%s: explain says %s, Allowed says %s", label, ex.Allowed, got)
				}
				if ws != wd {
					if l := listed[se.String()+" "+de.String()]; !l.Equal(got) {
						t.Errorf("%s: list says %s, pair evaluation says %s", label, l, got)
					}
				}
			}
			for _, ip := range addrs {
				ae := netpol.AddressEndpoint(netpol.AddrSet(ip))
				out := a.Allowed(se, ae)
				if !agree(t, fmt.Sprintf("seed %d: %s => %s", seed, se, ip), out, n, nsrc, naive.Endpoint{IP: ip}, ports) {
					failed = true
				}
				in := a.Allowed(ae, se)
				if !agree(t, fmt.Sprintf("seed %d: %s => %s", seed, ip, se), in, n, naive.Endpoint{IP: ip}, nsrc, ports) {
					failed = true
				}
				if l := lookupAddr(toAddrs[se.String()], ip, true); !l.Equal(out) {
					t.Errorf("seed %d: %s => %s: list says %s, pair evaluation says %s", seed, se, ip, l, out)
				}
				if l := lookupAddr(fromAddrs[se.String()], ip, false); !l.Equal(in) {
					t.Errorf("seed %d: %s => %s: list says %s, pair evaluation says %s", seed, ip, se, l, in)
				}
			}
		}
		if failed {
			t.Fatalf("seed %d (raw policies %v): estate %+v disagrees", seed, raw, size)
		}
	}
}

func lookupAddr(cs []netpol.Connection, ip netip.Addr, dst bool) netpol.ConnSet {
	for _, c := range cs {
		ips := c.Src.IPs
		if dst {
			ips = c.Dst.IPs
		}
		if ips.Contains(ip) {
			return c.Conns
		}
	}
	return netpol.NoConns()
}
