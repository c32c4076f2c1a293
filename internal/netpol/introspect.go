package netpol

import (
	"slices"

	"redoubt.dev/redoubt/internal/inventory"
)

// PolicyInfo describes one compiled policy for checks: what it selects and its rules.
type PolicyInfo struct {
	Ref PolicyRef
	// Selected are the workloads whose pods the policy applies to.
	Selected []*inventory.Workload
	// HostNetwork are the host-network workloads its selector matches by labels: NetworkPolicy
	// does not govern their pods, so they are not in Selected.
	HostNetwork []*inventory.Workload
	// Affects says whether the policy isolates (NetworkPolicy) or has rules (admin policies)
	// for ingress and egress.
	Affects [2]bool
	Rules   [2][]*Rule
}

// Policies describes every policy the analysis compiled: NetworkPolicies, then admin
// policies in precedence order, then the baseline.
func (a *Analysis) Policies() []PolicyInfo {
	var out []PolicyInfo
	for _, p := range slices.Concat(a.policies, a.admin, a.baseline) {
		info := PolicyInfo{Ref: p.ref, Affects: p.affects, Rules: p.rules}
		for _, cl := range a.candidates(p.subject) {
			switch {
			case !cl.hostNetwork && p.subject.matches(cl):
				info.Selected = append(info.Selected, cl.workloads...)
			case cl.hostNetwork && p.subject.matchesLabels(cl):
				info.HostNetwork = append(info.HostNetwork, cl.workloads...)
			}
		}
		slices.SortFunc(info.Selected, compareWorkloads)
		slices.SortFunc(info.HostNetwork, compareWorkloads)
		out = append(out, info)
	}
	return out
}

// PeerMatch is what one peer of a rule matches in the snapshot.
type PeerMatch struct {
	// Pods is true for peers that select pods (by namespace and/or pod labels).
	Pods bool
	// Workloads are the workloads whose pods it selects.
	Workloads []*inventory.Workload
	// HostNetwork are the host-network workloads its selectors match by labels: selectors
	// never match their pods, so they are not in Workloads.
	HostNetwork []*inventory.Workload
	// Namespaces are the namespaces its namespace selector selects (nil when it has none).
	Namespaces []string
	// HasNamespaceSelector says whether the peer selects namespaces by label.
	HasNamespaceSelector bool
	// Addresses are the addresses it names (ipBlock, networks).
	Addresses IPSet
	// Desc renders the peer.
	Desc string
}

// Peers describes what each peer of a rule matches, in the rule's order.
func (a *Analysis) Peers(r *Rule) []PeerMatch {
	var out []PeerMatch
	for _, p := range r.peers {
		m := PeerMatch{Pods: p.hasPods, Addresses: p.ips, Desc: p.desc, HasNamespaceSelector: p.hasPods && p.pods.ns != nil}
		if p.hasPods || p.podsByIP {
			classes := a.realClasses()
			if p.hasPods && !p.podsByIP {
				classes = a.candidates(p.pods)
			}
			for _, cl := range classes {
				switch {
				case cl.hostNetwork:
					if p.hasPods && p.pods.matchesLabels(cl) {
						m.HostNetwork = append(m.HostNetwork, cl.workloads...)
					}
				case p.matchesClass(cl):
					m.Workloads = append(m.Workloads, cl.workloads...)
				}
			}
			slices.SortFunc(m.Workloads, compareWorkloads)
			slices.SortFunc(m.HostNetwork, compareWorkloads)
		}
		if p.hasPods && p.pods.ns != nil {
			for _, n := range a.Snapshot.Namespaces {
				if ns := a.namespaces[n.Name]; ns != nil && p.pods.ns.Matches(ns.labels) {
					m.Namespaces = append(m.Namespaces, n.Name)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// UndefinedPort is a named port of a rule that no pod the rule can reach defines.
type UndefinedPort struct {
	Rule  *Rule
	Index int
	Name  string
	Proto Protocol
}

// UndefinedNamedPorts lists the named ports of NetworkPolicy rules that resolve on no pod.
func (a *Analysis) UndefinedNamedPorts() []UndefinedPort {
	var out []UndefinedPort
	for _, p := range a.policies {
		for d := range 2 {
			for _, r := range p.rules[d] {
				for _, pe := range r.ports {
					if pe.name != "" && !a.namedPortDefined(r, pe) {
						out = append(out, UndefinedPort{Rule: r, Index: pe.index, Name: pe.name, Proto: pe.proto})
					}
				}
			}
		}
	}
	return out
}

// AllowsEverywhere reports an egress rule that allows every port to every address (no ports,
// and no peers or an address peer covering a whole address family).
func (r *Rule) AllowsEverywhere() bool {
	if r.Action != Allow || !r.allPorts {
		return false
	}
	if r.allPeers {
		return true
	}
	for _, p := range r.peers {
		if p.ips.ContainsSet(IPSet{allIPv4}) || p.ips.ContainsSet(IPSet{allIPv6}) {
			return true
		}
	}
	return false
}

// AllNamespacesPeer returns the index of a peer that admits pods of every namespace (an empty
// namespaceSelector), or -1; a rule with no peers admits every source and returns -2.
func (r *Rule) AllNamespacesPeer() int {
	if r.allPeers {
		return -2
	}
	for _, p := range r.peers {
		if p.hasPods && p.pods.ns != nil && p.pods.ns.Empty() {
			return p.index
		}
	}
	return -1
}

// Sensitive workloads are checked through this.
func (a *Analysis) ReachableFromOtherNamespaces(w *inventory.Workload) (peers []PeerAccess, anyNamespace ConnSet) {
	dst := a.WorkloadEndpoint(w)
	for _, o := range a.Snapshot.Workloads {
		if o.Namespace == w.Namespace {
			continue
		}
		if c := a.Allowed(a.WorkloadEndpoint(o), dst); !c.IsEmpty() {
			peers = append(peers, PeerAccess{Peer: a.WorkloadEndpoint(o), Conns: c})
		}
	}
	if a.anyNS == nil {
		e := a.probe(AnyNamespaceProbe, nil, nil)
		a.anyNS = &e
	}
	return peers, a.Allowed(*a.anyNS, dst)
}

// PeerIndexAt returns the index in the policy of the rule's i-th peer.
func (r *Rule) PeerIndexAt(i int) int { return r.peers[i].index }
