package synth

import (
	"fmt"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/traffic"
)

func labelSet(m map[string]string) labels.Set { return labels.Set(m) }

// verify analyses the snapshot with the proposed policies in place of its NetworkPolicies and
// checks every flow against them. When onlyCovered is set, the summary of extra connections is
// limited to what the proposed policies decide: egress of pods they isolate for egress, ingress
// of pods they isolate for ingress.
func verify(a *netpol.Analysis, policies []*Policy, flows []traffic.Mapped, onlyCovered bool) Verification {
	var nps []*inventory.NetworkPolicy
	covered := map[*inventory.Workload]bool{}
	for _, p := range policies {
		nps = append(nps, &inventory.NetworkPolicy{NetworkPolicy: p.Policy.DeepCopy(), Origin: inventory.Origin{File: "proposed/" + p.Policy.Namespace + "/" + p.Policy.Name}})
	}
	b := a.WithNetworkPolicies(nps)
	coveredOut := map[*inventory.Workload]bool{}
	for _, w := range a.Snapshot.Workloads {
		e := b.WorkloadEndpoint(w)
		covered[w] = len(b.Isolated(e, netpol.Ingress)) > 0
		coveredOut[w] = len(b.Isolated(e, netpol.Egress)) > 0
	}
	var v Verification
	type pair struct{ src, dst string }
	observed := map[pair]netpol.ConnSet{}
	toAddr := map[*inventory.Workload][]addrObs{}
	fromAddr := map[*inventory.Workload][]addrObs{}
	for _, mf := range flows {
		src := b.Translate(mf.Src)
		for _, t := range mf.Targets {
			dst := b.Translate(t.Dst)
			if !b.Allowed(src, dst).ContainsAll(t.Want) {
				v.Denied = append(v.Denied, fmt.Sprintf("%s: %s => %s %s", mf.Flow.Origin, src, dst, t.Port))
			}
			switch {
			case src.Workload != nil && dst.Workload != nil:
				k := pair{src.Workload.Key(), dst.Workload.Key()}
				observed[k] = observed[k].Union(t.Want)
			case src.Workload != nil && mf.Flow.Dst.IP.IsValid():
				toAddr[src.Workload] = append(toAddr[src.Workload], addrObs{mf.Flow.Dst.IP, t.Want})
			case dst.Workload != nil && mf.Flow.Src.IP.IsValid():
				fromAddr[dst.Workload] = append(fromAddr[dst.Workload], addrObs{mf.Flow.Src.IP, t.Want})
			}
		}
	}
	for _, c := range b.Connections() {
		// Only what the proposed policies decide: the source's isolated egress or the
		// destination's isolated ingress.
		if onlyCovered && !(c.Src.Workload != nil && coveredOut[c.Src.Workload]) && !(c.Dst.Workload != nil && covered[c.Dst.Workload]) {
			continue
		}
		switch {
		case c.Src.Workload != nil && c.Dst.Workload != nil:
			extra := c.Conns.Subtract(observed[pair{c.Src.Workload.Key(), c.Dst.Workload.Key()}])
			if !extra.IsEmpty() {
				v.Extra = append(v.Extra, fmt.Sprintf("%s => %s : %s", c.Src, c.Dst, extra))
			}
		default:
			w, list, ips := c.Src.Workload, toAddr[c.Src.Workload], c.Dst.IPs
			if w == nil {
				w, list, ips = c.Dst.Workload, fromAddr[c.Dst.Workload], c.Src.IPs
			}
			var seen netpol.ConnSet
			n := 0
			for _, o := range list {
				if ips.Contains(o.addr) {
					seen = seen.Union(o.conns)
					n++
				}
			}
			extra := c.Conns.Subtract(seen)
			if extra.IsEmpty() && n > 0 && onlyAddressesSeen(ips, list) {
				continue
			}
			what := c.Conns.String()
			if n > 0 {
				what += fmt.Sprintf(" (flows seen to or from %d address(es) in the range)", distinct(ips, list))
			}
			v.Extra = append(v.Extra, fmt.Sprintf("%s => %s : %s", c.Src, c.Dst, what))
		}
	}
	return v
}

// addrObs is what one flow used with one outside address.
type addrObs struct {
	addr  netip.Addr
	conns netpol.ConnSet
}

// onlyAddressesSeen reports whether the range holds nothing but observed addresses.
func onlyAddressesSeen(ips netpol.IPSet, list []addrObs) bool {
	var seen netpol.IPSet
	for _, o := range list {
		if ips.Contains(o.addr) {
			seen = seen.Union(netpol.AddrSet(o.addr))
		}
	}
	return seen.Equal(ips)
}

// distinct counts the observed addresses in the range.
func distinct(ips netpol.IPSet, list []addrObs) int {
	var addrs []netip.Addr
	for _, o := range list {
		if ips.Contains(o.addr) && !slices.Contains(addrs, o.addr) {
			addrs = append(addrs, o.addr)
		}
	}
	return len(addrs)
}
