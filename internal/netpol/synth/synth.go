// Package synth writes least-privilege NetworkPolicies from observed flows, and tightens
// existing ones by removing what no flow used. Everything it proposes is verified by the
// connectivity engine before it is returned: every flow it was built from must still be
// allowed, and what else the policies allow is summarised.
package synth

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/flow"
	"redoubt.dev/redoubt/internal/netpol/traffic"
)

// Options tune generation.
type Options struct {
	// IPv4Prefix and IPv6Prefix aggregate outside addresses into CIDRs of this length
	// (32 and 128 keep single addresses).
	IPv4Prefix, IPv6Prefix int
	// AllWorkloads also writes deny-all policies for workloads no flow involved.
	AllWorkloads bool
}

// DefaultOptions keep each outside address on its own.
var DefaultOptions = Options{IPv4Prefix: 32, IPv6Prefix: 128}

// Policy is one generated (or tightened) policy and the comments that justify its rules.
type Policy struct {
	Policy *networkingv1.NetworkPolicy
	// Workload is the workload the policy was written for (generate only).
	Workload *inventory.Workload
	// Header is the comment above the policy.
	Header []string
	// RuleComments maps "ingress[0]" or "egress[2]" to the comment above that rule.
	RuleComments map[string][]string
}

// Result is what generation or tightening produced.
type Result struct {
	Policies []*Policy
	// Used and Excluded count the flows the policies were built from and those left out
	// (dropped by the network, or unmappable).
	Used, Excluded int
	// Notes say what could not be expressed or was left as is.
	Notes []string
	// Verification is the engine's check of the result.
	Verification Verification
}

// Verification is the engine's check of a policy set against the flows it came from.
type Verification struct {
	// Denied are flows the new policies do not allow (empty when verification passed).
	Denied []string
	// Extra are the connections the new policies allow beyond what was observed.
	Extra []string
}

// OK reports whether every flow is allowed.
func (v Verification) OK() bool { return len(v.Denied) == 0 }

// observation is one workload's observed traffic with one peer in one direction.
type observation struct {
	peer   netpol.Endpoint
	ports  map[netpol.PortProto]bool
	other  bool
	flows  int
	first  time.Time
	last   time.Time
	sample string
	dns    bool
}

// usable reports whether a flow may justify an allow rule: flows the network dropped were
// refused, and least privilege does not grant them.
func usable(f flow.Flow) bool {
	switch strings.ToUpper(f.Verdict) {
	case "DROPPED", "ERROR":
		return false
	}
	return true
}

// mapped reads every flow through the mapper, keeping the usable ones.
func mapped(a *netpol.Analysis, results []*flow.Result) (out []traffic.Mapped, excluded int, problems []string) {
	m := traffic.NewMapper(a)
	for _, res := range results {
		excluded += len(res.Problems) + res.Dropped
		for _, f := range res.Flows {
			if !usable(f) {
				excluded++
				continue
			}
			mf, err := m.Map(f)
			if err != nil {
				excluded++
				problems = append(problems, err.Error())
				continue
			}
			out = append(out, mf)
		}
	}
	return out, excluded, problems
}

// Generate writes one least-privilege NetworkPolicy per workload the flows involve.
func Generate(a *netpol.Analysis, results []*flow.Result, opts Options) *Result {
	if opts.IPv4Prefix <= 0 || opts.IPv4Prefix > 32 {
		opts.IPv4Prefix = 32
	}
	if opts.IPv6Prefix <= 0 || opts.IPv6Prefix > 128 {
		opts.IPv6Prefix = 128
	}
	flows, excluded, problems := mapped(a, results)
	res := &Result{Used: len(flows), Excluded: excluded, Notes: problems}
	type key struct {
		w    *inventory.Workload
		dir  netpol.Direction
		peer string
	}
	obs := map[key]*observation{}
	var order []key
	involved := map[*inventory.Workload]bool{}
	record := func(w *inventory.Workload, dir netpol.Direction, peer netpol.Endpoint, t traffic.Target, f flow.Flow) {
		if w == nil {
			return
		}
		involved[w] = true
		peerKey := peerKey(peer, opts)
		k := key{w, dir, peerKey}
		o := obs[k]
		if o == nil {
			o = &observation{peer: aggregate(peer, opts), ports: map[netpol.PortProto]bool{}, sample: f.Origin}
			obs[k] = o
			order = append(order, k)
		}
		o.flows++
		if !f.Time.IsZero() && (o.first.IsZero() || f.Time.Before(o.first)) {
			o.first = f.Time
		}
		if f.Time.After(o.last) {
			o.last = f.Time
		}
		if t.Want.Other {
			o.other = true
		}
		for _, p := range []netpol.Protocol{netpol.TCP, netpol.UDP, netpol.SCTP} {
			for _, r := range t.Want.Ports(p) {
				o.ports[netpol.PortProto{Protocol: p, Port: r.From}] = true
				if r.From == 53 && dir == netpol.Egress && peer.IsWorkload() {
					o.dns = true
				}
			}
		}
	}
	for _, mf := range flows {
		for _, t := range mf.Targets {
			record(mf.Src.Workload, netpol.Egress, t.Dst, t, mf.Flow)
			record(t.Dst.Workload, netpol.Ingress, mf.Src, t, mf.Flow)
		}
	}
	for _, w := range a.Snapshot.Workloads {
		if !involved[w] && !opts.AllWorkloads {
			continue
		}
		ep := a.WorkloadEndpoint(w)
		if ep.HostNetwork() {
			res.Notes = append(res.Notes, fmt.Sprintf("%s uses the host's network: NetworkPolicy cannot select it, so no policy is written for it", netpol.WorkloadName(w)))
			continue
		}
		sel, ok := ownSelector(w)
		if !ok {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: its pods carry no labels, so no policy can select them alone; label them and generate again", netpol.WorkloadName(w)))
			continue
		}
		p := &Policy{Workload: w, RuleComments: map[string][]string{}}
		np := &networkingv1.NetworkPolicy{
			TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: policyName(w), Namespace: w.Namespace,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "redoubt"}},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{}, Egress: []networkingv1.NetworkPolicyEgressRule{}},
		}
		p.Policy = np
		p.Header = []string{fmt.Sprintf("Least privilege for %s, from observed flows.", netpol.WorkloadName(w))}
		if others := alsoSelected(a, w, sel); len(others) > 0 {
			p.Header = append(p.Header, "Its selector also selects "+strings.Join(others, ", ")+": the rules below apply to them too.")
			res.Notes = append(res.Notes, fmt.Sprintf("%s: the workload's selector also selects %s", netpol.WorkloadName(w), strings.Join(others, ", ")))
		}
		if !involved[w] {
			p.Header = append(p.Header, "No flow involved it: it may neither receive nor open connections.")
		}
		for _, k := range order {
			if k.w != w {
				continue
			}
			o := obs[k]
			peers, note := peerSpec(a, o)
			if note != "" {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: %s", netpol.WorkloadName(w), note))
			}
			ports := portsSpec(o)
			comment := []string{fmt.Sprintf("%d flow(s) %s %s%s, e.g. %s", o.flows, map[netpol.Direction]string{netpol.Ingress: "from", netpol.Egress: "to"}[k.dir],
				o.peer, span(o), o.sample)}
			if o.dns {
				comment = append(comment, "DNS: UDP and TCP 53 to the cluster's DNS pods, by their own labels.")
			}
			if k.dir == netpol.Ingress {
				p.RuleComments[fmt.Sprintf("ingress[%d]", len(np.Spec.Ingress))] = comment
				np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: ports})
			} else {
				p.RuleComments[fmt.Sprintf("egress[%d]", len(np.Spec.Egress))] = comment
				np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports})
			}
		}
		res.Policies = append(res.Policies, p)
	}
	for _, w := range a.Snapshot.Workloads {
		if !involved[w] && !opts.AllWorkloads && !a.WorkloadEndpoint(w).HostNetwork() {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: no flow involved it, so no policy is written (--all-workloads writes a deny-all)", netpol.WorkloadName(w)))
		}
	}
	res.Verification = verify(a, res.Policies, flows, true)
	return res
}

func span(o *observation) string {
	if o.first.IsZero() {
		return ""
	}
	if o.first.Equal(o.last) {
		return " at " + o.first.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf(" from %s to %s", o.first.UTC().Format(time.RFC3339), o.last.UTC().Format(time.RFC3339))
}

func policyName(w *inventory.Workload) string {
	name := w.Name + "-least-privilege"
	if len(name) > 253 {
		name = name[:253]
	}
	return name
}

// ownSelector returns a selector for the workload's pods: its own selector, or its pod labels.
func ownSelector(w *inventory.Workload) (*metav1.LabelSelector, bool) {
	if w.Selector != nil && (len(w.Selector.MatchLabels) > 0 || len(w.Selector.MatchExpressions) > 0) {
		return w.Selector.DeepCopy(), true
	}
	if len(w.Template.Labels) > 0 {
		return &metav1.LabelSelector{MatchLabels: maps(w.Template.Labels)}, true
	}
	return nil, false
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// alsoSelected names other workloads of the namespace the selector matches.
func alsoSelected(a *netpol.Analysis, w *inventory.Workload, sel *metav1.LabelSelector) []string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	var out []string
	for _, o := range a.Snapshot.WorkloadsIn(w.Namespace) {
		if o != w && s.Matches(labelSet(o.Template.Labels)) {
			out = append(out, netpol.WorkloadName(o))
		}
	}
	return out
}

// peerKey groups observations: workloads and probes by name, addresses by aggregated CIDR.
func peerKey(e netpol.Endpoint, opts Options) string {
	if e.IsWorkload() {
		return e.String()
	}
	return aggregate(e, opts).String()
}

// aggregate widens an address endpoint to its CIDR of the configured length.
func aggregate(e netpol.Endpoint, opts Options) netpol.Endpoint {
	if e.IsWorkload() {
		return e
	}
	var out netpol.IPSet
	for _, p := range e.IPs.Prefixes() {
		bits := opts.IPv4Prefix
		if p.Addr().Is6() {
			bits = opts.IPv6Prefix
		}
		if p.Bits() > bits {
			p = netip.PrefixFrom(p.Addr(), bits).Masked()
		}
		out = out.Union(netpol.PrefixSet(p))
	}
	return netpol.AddressEndpoint(out)
}

// peerSpec writes the peer of an observation: namespace by name plus the workload's own pod
// labels, or an ipBlock.
func peerSpec(a *netpol.Analysis, o *observation) ([]networkingv1.NetworkPolicyPeer, string) {
	nsSel := func(ns string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}
	}
	switch {
	case o.peer.Workload != nil:
		w := o.peer.Workload
		sel, ok := ownSelector(w)
		note := ""
		if !ok {
			sel = &metav1.LabelSelector{}
			note = fmt.Sprintf("peer %s has no pod labels: the rule admits every pod of namespace %s", netpol.WorkloadName(w), w.Namespace)
		}
		return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsSel(w.Namespace), PodSelector: sel}}, note
	case o.peer.ProbeNamespace() != "":
		return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsSel(o.peer.ProbeNamespace()),
			PodSelector: &metav1.LabelSelector{MatchLabels: maps(o.peer.ProbeLabels())}}}, ""
	}
	var out []networkingv1.NetworkPolicyPeer
	for _, p := range o.peer.IPs.Prefixes() {
		out = append(out, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: p.String()}})
	}
	return out, ""
}

// portsSpec writes the observed ports, merged into ranges where consecutive; DNS always gets
// both UDP and TCP 53.
func portsSpec(o *observation) []networkingv1.NetworkPolicyPort {
	if o.other {
		// ICMP and other protocols without ports are only allowed by a rule without ports.
		return nil
	}
	pps := make([]netpol.PortProto, 0, len(o.ports))
	for pp := range o.ports {
		pps = append(pps, pp)
	}
	if o.dns {
		for _, p := range []netpol.Protocol{netpol.UDP, netpol.TCP} {
			if !o.ports[netpol.PortProto{Protocol: p, Port: 53}] {
				pps = append(pps, netpol.PortProto{Protocol: p, Port: 53})
			}
		}
	}
	slices.SortFunc(pps, func(x, y netpol.PortProto) int {
		return cmp.Or(cmp.Compare(x.Protocol, y.Protocol), cmp.Compare(x.Port, y.Port))
	})
	var out []networkingv1.NetworkPolicyPort
	for i := 0; i < len(pps); {
		j := i
		for j+1 < len(pps) && pps[j+1].Protocol == pps[i].Protocol && pps[j+1].Port == pps[j].Port+1 {
			j++
		}
		proto := corev1.Protocol(pps[i].Protocol.String())
		port := intstr.FromInt32(pps[i].Port)
		np := networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
		if j > i {
			end := pps[j].Port
			np.EndPort = &end
		}
		out = append(out, np)
		i = j + 1
	}
	return out
}
