package netpol

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// The bulk path computes, for one class and direction, what it allows with every other class
// at once: each rule adds its ports to the classes its peers match, found through label
// indexes, so the cost follows the number of matches rather than classes × rules. It applies
// only where NetworkPolicy alone decides (no admin or baseline rules for the class in that
// direction); elsewhere the pair evaluation of decide is used.

// classIndex finds candidate classes for a selector by namespace name and pod label.
type classIndex struct {
	byNS    map[string][]*class
	byLabel map[string][]*class // "key=value"
	all     []*class
	// host are the host-network classes, which address peers may match (see admitsNode).
	host []*class
}

func (a *Analysis) index() *classIndex {
	if a.idx != nil {
		return a.idx
	}
	idx := &classIndex{byNS: map[string][]*class{}, byLabel: map[string][]*class{}}
	for _, c := range a.classes {
		if c.synthetic {
			continue
		}
		idx.all = append(idx.all, c)
		if c.hostNetwork {
			idx.host = append(idx.host, c)
		}
		idx.byNS[c.ns.name] = append(idx.byNS[c.ns.name], c)
		for k, v := range c.labels {
			idx.byLabel[k+"="+v] = append(idx.byLabel[k+"="+v], c)
		}
	}
	a.idx = idx
	return idx
}

// equalities returns, for a selector, one key and the values it must take, when it has such a
// requirement (key=value or key in (values)).
func equalities(sel labels.Selector) (string, []string, bool) {
	if sel == nil {
		return "", nil, false
	}
	reqs, ok := sel.Requirements()
	if !ok {
		return "", nil, false
	}
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			return r.Key(), r.Values().List(), true
		}
	}
	return "", nil, false
}

// classes returns the real classes the peer matches.
func (p *peer) classes(a *Analysis) []*class {
	if p.matched != nil || p.matchedDone {
		return p.matched
	}
	p.matchedDone = true
	idx := a.index()
	if !p.hasPods && !p.podsByIP {
		// An address peer matches no pod, but may hold the nodes that host-network pods are.
		for _, c := range idx.host {
			if p.matchesUncached(c) {
				p.matched = append(p.matched, c)
			}
		}
		return p.matched
	}
	candidates := idx.all
	if p.hasPods {
		var byNS []*class
		nsKnown := false
		if p.pods.ns == nil {
			byNS, nsKnown = idx.byNS[p.pods.own], true
		} else if k, vs, ok := equalities(p.pods.ns); ok && k == "kubernetes.io/metadata.name" {
			for _, v := range vs {
				byNS = append(byNS, idx.byNS[v]...)
			}
			nsKnown = true
		}
		if nsKnown && len(byNS) < len(candidates) {
			candidates = byNS
		}
		if k, vs, ok := equalities(p.pods.pods); ok {
			var byLabel []*class
			for _, v := range vs {
				byLabel = append(byLabel, idx.byLabel[k+"="+v]...)
			}
			if len(byLabel) < len(candidates) {
				candidates = byLabel
			}
		}
	}
	for _, c := range candidates {
		if p.matchesUncached(c) {
			p.matched = append(p.matched, c)
		}
	}
	return p.matched
}

// bulkVector is what a class allows in one direction with every class, when NetworkPolicy
// alone decides: all (not isolated), or per class id the connections allowed.
type bulkVector struct {
	fast bool
	all  bool
	vec  map[int]ConnSet
}

func (a *Analysis) bulk(d Direction, cl *class) bulkVector {
	if cl.hostNetwork {
		return bulkVector{fast: true, all: true}
	}
	cr := a.perClass[d][cl.id]
	if len(cr.admin) > 0 || (len(cr.isolatedBy) == 0 && len(cr.baseline) > 0) {
		return bulkVector{}
	}
	if len(cr.isolatedBy) == 0 {
		return bulkVector{fast: true, all: true}
	}
	v := bulkVector{fast: true, vec: map[int]ConnSet{}}
	add := func(r *Rule, other *class) {
		dst := Endpoint{cls: cl}
		if d == Egress {
			dst = Endpoint{cls: other}
		}
		if c := r.conns(dst); !c.IsEmpty() {
			v.vec[other.id] = v.vec[other.id].Union(c)
		}
	}
	for _, r := range cr.np {
		if r.allPeers {
			for _, other := range a.index().all {
				add(r, other)
			}
			continue
		}
		for _, p := range r.peers {
			for _, other := range p.classes(a) {
				add(r, other)
			}
		}
	}
	return v
}

// get returns what the vector allows with class id.
func (v bulkVector) get(id int) ConnSet {
	if v.all {
		return AllConns()
	}
	return v.vec[id]
}

// cachedBulk returns the class's bulk vector, computing it once.
func (a *Analysis) cachedBulk(d Direction, cl *class) bulkVector {
	if a.bulkCache[d] == nil {
		a.bulkCache[d] = map[int]bulkVector{}
	}
	if v, ok := a.bulkCache[d][cl.id]; ok {
		return v
	}
	v := a.bulk(d, cl)
	a.bulkCache[d][cl.id] = v
	return v
}
