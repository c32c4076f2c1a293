package netpol

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"redoubt.dev/redoubt/internal/inventory"
)

// Change is what a policy change does to one pair: connections it adds and removes.
type Change struct {
	Src, Dst Endpoint
	Added    ConnSet
	Removed  ConnSet
	// Note says when an endpoint exists on one side only.
	Note string
}

// Diff compares the connectivity of two analyses (before and after a change). Workloads are
// matched by namespace, kind and name; addresses are compared on the ranges both sides treat
// alike, then merged again where the change is the same.
func Diff(old, new *Analysis) []Change {
	type pairKey struct{ src, dst string }
	oldW := map[string]*inventory.Workload{}
	for _, w := range old.Snapshot.Workloads {
		oldW[w.Key()] = w
	}
	newW := map[string]*inventory.Workload{}
	for _, w := range new.Snapshot.Workloads {
		newW[w.Key()] = w
	}
	var keys []string
	for k := range oldW {
		keys = append(keys, k)
	}
	for k := range newW {
		if oldW[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	// allowed evaluates a pair on one side; workloads missing there allow nothing.
	allowed := func(a *Analysis, ws map[string]*inventory.Workload, src, dst string, srcIPs, dstIPs IPSet) ConnSet {
		var s, d Endpoint
		if src != "" {
			w := ws[src]
			if w == nil {
				return NoConns()
			}
			s = a.WorkloadEndpoint(w)
		} else {
			s = AddressEndpoint(srcIPs)
		}
		if dst != "" {
			w := ws[dst]
			if w == nil {
				return NoConns()
			}
			d = a.WorkloadEndpoint(w)
		} else {
			d = AddressEndpoint(dstIPs)
		}
		return a.Allowed(s, d)
	}
	endpoint := func(key string) Endpoint {
		if w := newW[key]; w != nil {
			return new.WorkloadEndpoint(w)
		}
		return old.WorkloadEndpoint(oldW[key])
	}
	note := func(src, dst string) string {
		for _, k := range []string{src, dst} {
			if k == "" {
				continue
			}
			switch {
			case oldW[k] == nil:
				return fmt.Sprintf("%s is new", WorkloadName(newW[k]))
			case newW[k] == nil:
				return fmt.Sprintf("%s was removed", WorkloadName(oldW[k]))
			}
		}
		return ""
	}
	var out []Change
	for _, s := range keys {
		for _, d := range keys {
			if s == d {
				continue
			}
			o := allowed(old, oldW, s, d, nil, nil)
			n := allowed(new, newW, s, d, nil, nil)
			if o.Equal(n) {
				continue
			}
			out = append(out, Change{Src: endpoint(s), Dst: endpoint(d), Added: n.Subtract(o), Removed: o.Subtract(n), Note: note(s, d)})
		}
	}
	atoms := refineAtoms(old.atoms, new.atoms)
	for _, k := range keys {
		for _, toAddr := range []bool{true, false} {
			type group struct {
				ips            IPSet
				added, removed ConnSet
			}
			var groups []*group
			idx := map[string]*group{}
			for _, at := range atoms {
				var o, n ConnSet
				if toAddr {
					o, n = allowed(old, oldW, k, "", nil, at), allowed(new, newW, k, "", nil, at)
				} else {
					o, n = allowed(old, oldW, "", k, at, nil), allowed(new, newW, "", k, at, nil)
				}
				if o.Equal(n) {
					continue
				}
				add, rem := n.Subtract(o), o.Subtract(n)
				gk := add.key() + "|" + rem.key()
				if g := idx[gk]; g != nil {
					g.ips = append(g.ips, at...)
					continue
				}
				g := &group{ips: slices.Clone(at), added: add, removed: rem}
				idx[gk] = g
				groups = append(groups, g)
			}
			for _, g := range groups {
				c := Change{Added: g.added, Removed: g.removed, Note: note(k, "")}
				if toAddr {
					c.Src, c.Dst = endpoint(k), AddressEndpoint(normalize(g.ips))
				} else {
					c.Src, c.Dst = AddressEndpoint(normalize(g.ips)), endpoint(k)
				}
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(x, y Change) int {
		if c := compareEndpoints(x.Src, y.Src); c != 0 {
			return c
		}
		return compareEndpoints(x.Dst, y.Dst)
	})
	return out
}

// refineAtoms returns the ranges both partitions treat alike.
func refineAtoms(a, b []IPSet) []IPSet {
	var out []IPSet
	for _, x := range a {
		for _, y := range b {
			if z := x.Intersect(y); len(z) > 0 {
				out = append(out, z)
			}
		}
	}
	return out
}

// WriteChanges writes "+ src => dst : added" and "- src => dst : removed" lines.
func WriteChanges(w io.Writer, cs []Change) error {
	bw := bufio.NewWriter(w)
	for _, c := range cs {
		suffix := ""
		if c.Note != "" {
			suffix = " (" + c.Note + ")"
		}
		if !c.Added.IsEmpty() {
			fmt.Fprintf(bw, "+ %s => %s : %s%s\n", c.Src, c.Dst, c.Added, suffix)
		}
		if !c.Removed.IsEmpty() {
			fmt.Fprintf(bw, "- %s => %s : %s%s\n", c.Src, c.Dst, c.Removed, suffix)
		}
	}
	if len(cs) == 0 {
		fmt.Fprintln(bw, "no change in connectivity")
	}
	return bw.Flush()
}

// WriteChangesJSON writes {"added": [...], "removed": [...]} in the connection format of list.
func WriteChangesJSON(w io.Writer, cs []Change) error {
	out := struct {
		Added   []ConnectionJSON `json:"added"`
		Removed []ConnectionJSON `json:"removed"`
	}{Added: []ConnectionJSON{}, Removed: []ConnectionJSON{}}
	for _, c := range cs {
		if !c.Added.IsEmpty() {
			out.Added = append(out.Added, ConnectionJSON{Src: c.Src.JSON(), Dst: c.Dst.JSON(), Allowed: c.Added})
		}
		if !c.Removed.IsEmpty() {
			out.Removed = append(out.Removed, ConnectionJSON{Src: c.Src.JSON(), Dst: c.Dst.JSON(), Allowed: c.Removed})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
