package traffic

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/flow"
)

// Group is the flows of one source, destination and port.
type Group struct {
	Src, Dst netpol.Endpoint
	Port     string
	Via      string
	Count    int
	// Verdicts counts Hubble's verdicts (FORWARDED, DROPPED, ...).
	Verdicts    map[string]int
	First, Last time.Time
	// Example is the file:line of the first flow.
	Example string
	// Why says which side denies it and by what (unexpected flows only).
	Why  string
	want netpol.ConnSet
}

// Hits counts the flows one rule matched, in total and per peer and port entry.
type Hits struct {
	Rule  *netpol.Rule
	Flows int
	// Peers and Ports count per entry, indexed like the rule's from/to and ports.
	Peers []int
	Ports []int
}

// Unmatched is a private address that matched no pod or Service.
type Unmatched struct {
	Addr    netip.Addr
	Count   int
	Example string
}

// Report is the comparison of observed flows with the policies.
type Report struct {
	Files []string
	// Flows counts the flow records compared; Skipped those that are not flows or are replies.
	Flows, Skipped int
	From, To       time.Time
	// Observed groups every flow; Unexpected are the groups the policies do not allow.
	Observed   []*Group
	Unexpected []*Group
	// Unused are the allowed connections no flow used.
	Unused []netpol.Connection
	// Hits has one entry per rule of every policy, in policy order.
	Hits []*Hits
	// Unmatched are private addresses treated as outside the cluster.
	Unmatched []Unmatched
	// Problems are flows that could not be read or mapped.
	Problems []string
}

// Compare maps flows onto the analysis and compares them with what the policies allow.
func Compare(a *netpol.Analysis, results []*flow.Result, files []string) *Report {
	r := &Report{Files: files}
	m := NewMapper(a)
	groups := map[string]*Group{}
	unmatched := map[netip.Addr]*Unmatched{}
	hits := map[*netpol.Rule]*Hits{}
	for _, info := range a.Policies() {
		for d := range 2 {
			for _, rule := range info.Rules[d] {
				h := &Hits{Rule: rule, Peers: make([]int, rule.NumPeers()), Ports: make([]int, maxPortIndex(rule))}
				hits[rule] = h
				r.Hits = append(r.Hits, h)
			}
		}
	}
	explained := map[string]netpol.Explanation{}
	for _, res := range results {
		r.Skipped += res.Skipped
		r.Problems = append(r.Problems, res.Problems...)
		if res.Dropped > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("... and %d more bad records", res.Dropped))
		}
		for _, f := range res.Flows {
			mf, err := m.Map(f)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Flows++
			if !f.Time.IsZero() {
				if r.From.IsZero() || f.Time.Before(r.From) {
					r.From = f.Time
				}
				if f.Time.After(r.To) {
					r.To = f.Time
				}
			}
			for _, end := range []struct {
				e  flow.Endpoint
				ep netpol.Endpoint
			}{{f.Src, mf.Src}, {f.Dst, mf.Targets[0].Dst}} {
				if !end.ep.IsWorkload() && end.e.IP.IsValid() && private(end.e.IP) && end.e.Reserved == "" && mf.Targets[0].Via == "" {
					u := unmatched[end.e.IP]
					if u == nil {
						u = &Unmatched{Addr: end.e.IP, Example: f.Origin}
						unmatched[end.e.IP] = u
					}
					u.Count++
				}
			}
			for _, t := range mf.Targets {
				key := endpointKey(a, mf.Src) + " " + endpointKey(a, t.Dst) + " " + t.Port + " " + t.Via
				g := groups[key]
				if g == nil {
					g = &Group{Src: mf.Src, Dst: t.Dst, Port: t.Port, Via: t.Via, Verdicts: map[string]int{}, Example: f.Origin, want: t.Want}
					groups[key] = g
					r.Observed = append(r.Observed, g)
				}
				g.Count++
				if f.Verdict != "" {
					g.Verdicts[f.Verdict]++
				}
				if !f.Time.IsZero() && (g.First.IsZero() || f.Time.Before(g.First)) {
					g.First = f.Time
				}
				if f.Time.After(g.Last) {
					g.Last = f.Time
				}
				pairKey := endpointKey(a, mf.Src) + " " + endpointKey(a, t.Dst)
				ex, ok := explained[pairKey]
				if !ok {
					ex = a.Explain(mf.Src, t.Dst)
					explained[pairKey] = ex
				}
				count(hits, ex, t.Want)
			}
		}
	}
	for _, g := range r.Observed {
		ex := explained[endpointKey(a, g.Src)+" "+endpointKey(a, g.Dst)]
		if ex.Allowed.ContainsAll(g.want) {
			continue
		}
		var why []string
		if s := ex.Egress.DenyReason(g.want); s != "" {
			why = append(why, "egress of "+g.Src.String()+": "+s)
		}
		if s := ex.Ingress.DenyReason(g.want); s != "" {
			why = append(why, "ingress of "+g.Dst.String()+": "+s)
		}
		g.Why = strings.Join(why, "; ")
		r.Unexpected = append(r.Unexpected, g)
	}
	r.Unused = unused(a, r.Observed)
	for _, u := range unmatched {
		r.Unmatched = append(r.Unmatched, *u)
	}
	slices.SortFunc(r.Unmatched, func(x, y Unmatched) int { return x.Addr.Compare(y.Addr) })
	sortGroups(r.Observed)
	sortGroups(r.Unexpected)
	return r
}

func maxPortIndex(r *netpol.Rule) int {
	n := 0
	for i := range r.NumPorts() {
		if r.PortString(i) != "" {
			n = i + 1
		}
	}
	return n
}

// endpointKey identifies an endpoint for grouping; addresses group by the atom they fall in
// only for evaluation, and by address for reporting.
func endpointKey(a *netpol.Analysis, e netpol.Endpoint) string {
	if e.Workload != nil {
		return e.Workload.Key()
	}
	return e.String()
}

// count adds one flow to the rules, peers and ports that matched it on either side.
func count(hits map[*netpol.Rule]*Hits, ex netpol.Explanation, want netpol.ConnSet) {
	for _, v := range []netpol.Verdict{ex.Egress, ex.Ingress} {
		for _, s := range v.Steps {
			if s.Matched.Intersect(want).IsEmpty() {
				continue
			}
			h := hits[s.Rule]
			if h == nil {
				continue
			}
			h.Flows++
			for _, i := range s.Peers {
				if i < len(h.Peers) {
					h.Peers[i]++
				}
			}
			seen := map[int]bool{}
			for _, p := range s.Ports {
				if !seen[p.Index] && !p.Conns.Intersect(want).IsEmpty() && p.Index < len(h.Ports) {
					h.Ports[p.Index]++
					seen[p.Index] = true
				}
			}
		}
	}
}

// unused lists the allowed connections no observed flow used.
func unused(a *netpol.Analysis, observed []*Group) []netpol.Connection {
	pairs := map[string]bool{}
	toAddrs := map[string][]netip.Addr{}
	fromAddrs := map[string][]netip.Addr{}
	for _, g := range observed {
		switch {
		case g.Src.Workload != nil && g.Dst.Workload != nil:
			pairs[g.Src.Workload.Key()+" "+g.Dst.Workload.Key()] = true
		case g.Src.Workload != nil && len(g.Dst.IPs) > 0:
			toAddrs[g.Src.Workload.Key()] = append(toAddrs[g.Src.Workload.Key()], firstAddr(g.Dst.IPs))
		case g.Dst.Workload != nil && len(g.Src.IPs) > 0:
			fromAddrs[g.Dst.Workload.Key()] = append(fromAddrs[g.Dst.Workload.Key()], firstAddr(g.Src.IPs))
		}
	}
	var out []netpol.Connection
	for _, c := range a.Connections() {
		switch {
		case c.Src.Workload != nil && c.Dst.Workload != nil:
			if pairs[c.Src.Workload.Key()+" "+c.Dst.Workload.Key()] {
				continue
			}
		case c.Src.Workload != nil:
			if slices.ContainsFunc(toAddrs[c.Src.Workload.Key()], c.Dst.IPs.Contains) {
				continue
			}
		case c.Dst.Workload != nil:
			if slices.ContainsFunc(fromAddrs[c.Dst.Workload.Key()], c.Src.IPs.Contains) {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

func firstAddr(s netpol.IPSet) netip.Addr {
	for _, p := range s.Prefixes() {
		return p.Addr()
	}
	return netip.Addr{}
}

func sortGroups(gs []*Group) {
	slices.SortFunc(gs, func(x, y *Group) int {
		return cmp.Or(cmp.Compare(x.Src.String(), y.Src.String()), cmp.Compare(x.Dst.String(), y.Dst.String()), cmp.Compare(x.Port, y.Port), cmp.Compare(x.Via, y.Via))
	})
}
