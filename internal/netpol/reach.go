package netpol

import (
	"slices"

	"redoubt.dev/redoubt/internal/inventory"
)

// Reach says how far beyond its own namespace a workload can be reached: the summary the risk
// ranking weighs. It is computed with probes, so that it costs a handful of evaluations per
// workload rather than one per other workload: a pod in a namespace the snapshot does not know
// (standing for every namespace, including ones created later), an unlabelled pod in each other
// namespace of the snapshot, and each range of outside addresses. A rule that admits only pods
// carrying particular labels in another namespace is not seen by these probes; `netpol exposure`
// and the sensitive-workload check compute those pairs exactly.
type Reach struct {
	// AnyNamespace is true when a pod of any namespace can connect.
	AnyNamespace bool
	// Namespaces are the other namespaces of the snapshot whose pods can connect.
	Namespaces []string
	// Addresses are the outside addresses that can connect.
	Addresses IPSet
}

// Reach computes how far beyond its namespace the workload can be reached.
func (a *Analysis) Reach(w *inventory.Workload) Reach {
	dst := a.WorkloadEndpoint(w)
	var r Reach
	if a.anyNS == nil {
		e := a.probe(AnyNamespaceProbe, nil, nil)
		a.anyNS = &e
	}
	r.AnyNamespace = !a.Allowed(*a.anyNS, dst).IsEmpty()
	if a.nsProbes == nil {
		a.nsProbes = map[string]Endpoint{}
	}
	for _, n := range a.Snapshot.Namespaces {
		if n.Name == w.Namespace {
			continue
		}
		p, ok := a.nsProbes[n.Name]
		if !ok {
			p = a.probe(n.Name, nil, nil)
			a.nsProbes[n.Name] = p
		}
		if !a.Allowed(p, dst).IsEmpty() {
			r.Namespaces = append(r.Namespaces, n.Name)
		}
	}
	for _, g := range a.groupAtoms(func(at Endpoint) ConnSet { return a.Allowed(at, dst) }) {
		r.Addresses = r.Addresses.Union(g.ips)
	}
	slices.Sort(r.Namespaces)
	return r
}
