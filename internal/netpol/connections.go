package netpol

import (
	"cmp"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/inventory"
)

// Connection is one allowed connection between two endpoints, with what it allows.
type Connection struct {
	Src, Dst Endpoint
	Conns    ConnSet
}

// Connections lists every allowed connection between the snapshot's workloads, and between
// them and addresses outside the cluster's pods. Addresses are merged, per pair, where the
// policies allow the same; a workload's connections to itself are left out (its pods may still
// talk to each other as the policies say; Explain answers that).
func (a *Analysis) Connections() []Connection {
	var out []Connection
	classes := a.realClasses()
	for _, s := range classes {
		se := Endpoint{cls: s}
		// Where NetworkPolicy alone isolates the source's egress, only the classes its rules
		// name can be reached.
		candidates := classes
		if eg := a.cachedBulk(Egress, s); eg.fast && !eg.all {
			candidates = make([]*class, 0, len(eg.vec))
			for id := range eg.vec {
				candidates = append(candidates, a.classes[id])
			}
		}
		for _, d := range candidates {
			c := a.Allowed(se, Endpoint{cls: d})
			if c.IsEmpty() {
				continue
			}
			for _, ws := range s.workloads {
				for _, wd := range d.workloads {
					if ws == wd {
						continue
					}
					out = append(out, Connection{Src: a.WorkloadEndpoint(ws), Dst: a.WorkloadEndpoint(wd), Conns: c})
				}
			}
		}
		for _, g := range a.groupAtoms(func(at Endpoint) ConnSet { return a.Allowed(se, at) }) {
			for _, ws := range s.workloads {
				out = append(out, Connection{Src: a.WorkloadEndpoint(ws), Dst: AddressEndpoint(g.ips), Conns: g.conns})
			}
		}
		for _, g := range a.groupAtoms(func(at Endpoint) ConnSet { return a.Allowed(at, se) }) {
			for _, wd := range s.workloads {
				out = append(out, Connection{Src: AddressEndpoint(g.ips), Dst: a.WorkloadEndpoint(wd), Conns: g.conns})
			}
		}
	}
	SortConnections(out)
	return out
}

// realClasses are the classes of real workloads (not probes). Probes are only ever added after
// the workloads, so the list is computed once.
func (a *Analysis) realClasses() []*class {
	if a.real == nil {
		a.real = make([]*class, 0, len(a.classes))
		for _, c := range a.classes {
			if !c.synthetic {
				a.real = append(a.real, c)
			}
		}
	}
	return a.real
}

type atomGroup struct {
	ips   IPSet
	conns ConnSet
}

// groupAtoms evaluates f on every address atom and merges atoms with equal results.
func (a *Analysis) groupAtoms(f func(Endpoint) ConnSet) []atomGroup {
	idx := map[string]int{}
	var groups []atomGroup
	for _, at := range a.atoms {
		c := f(AddressEndpoint(at))
		if c.IsEmpty() {
			continue
		}
		k := c.key()
		if i, ok := idx[k]; ok {
			groups[i].ips = append(groups[i].ips, at...)
			continue
		}
		idx[k] = len(groups)
		groups = append(groups, atomGroup{ips: slices.Clone(at), conns: c})
	}
	for i := range groups {
		groups[i].ips = normalize(groups[i].ips)
	}
	return groups
}

// SortConnections orders connections by source, then destination: workloads by namespace,
// name and kind; addresses after workloads, by first address.
func SortConnections(cs []Connection) {
	slices.SortFunc(cs, func(x, y Connection) int {
		return cmp.Or(compareEndpoints(x.Src, y.Src), compareEndpoints(x.Dst, y.Dst))
	})
}

func compareEndpoints(x, y Endpoint) int {
	switch {
	case x.Workload != nil && y.Workload != nil:
		return compareWorkloads(x.Workload, y.Workload)
	case x.Workload != nil:
		return -1
	case y.Workload != nil:
		return 1
	}
	if len(x.IPs) == 0 || len(y.IPs) == 0 {
		return cmp.Compare(len(x.IPs), len(y.IPs))
	}
	return cmp.Or(compareAddr(x.IPs[0].from, y.IPs[0].from), strings.Compare(x.IPs.String(), y.IPs.String()))
}

func compareWorkloads(x, y *inventory.Workload) int {
	return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Kind, y.Kind))
}
