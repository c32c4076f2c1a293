package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"redoubt.dev/redoubt/internal/inventory"
)

// namespace is one namespace and its labels.
type namespace struct {
	name   string
	labels labels.Set
}

// namedPort is one container port with a name.
type namedPort struct {
	name  string
	proto Protocol
	port  int32
}

// class is a set of workloads policies cannot tell apart: same namespace (and so namespace
// labels), same pod labels, same named ports, same host networking. Connectivity is computed
// once per class, not once per workload or pod.
type class struct {
	id          int
	ns          *namespace
	labels      labels.Set
	ports       []namedPort
	hostNetwork bool
	// hostAddrs are the addresses a host-network class's traffic comes from: the nodes' (nil
	// when unknown). See peer.admitsNode.
	hostAddrs IPSet
	workloads []*inventory.Workload
	// synthetic classes stand for pods that do not exist (exposure probes).
	synthetic bool
}

func classKey(ns string, lbls map[string]string, ports []namedPort, host bool) string {
	var b strings.Builder
	b.WriteString(ns)
	b.WriteByte(0)
	b.WriteString(labels.Set(lbls).String())
	b.WriteByte(0)
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%d,", p.name, p.proto, p.port)
	}
	if host {
		b.WriteString("\x00host")
	}
	return b.String()
}

// Endpoint is one end of a connection: a workload, or a set of addresses outside the cluster's
// pods that every policy treats alike.
type Endpoint struct {
	// Workload is set for workloads.
	Workload *inventory.Workload
	// IPs is set for addresses.
	IPs IPSet
	cls *class
}

// IsWorkload reports whether the endpoint is a workload (or a probe standing for pods).
func (e Endpoint) IsWorkload() bool { return e.cls != nil }

// String renders "namespace/name[Kind]" or the address ranges.
func (e Endpoint) String() string {
	switch {
	case e.Workload != nil:
		return WorkloadName(e.Workload)
	case e.cls != nil:
		return e.cls.ns.name + "/[" + e.cls.labels.String() + "]"
	}
	return e.IPs.String()
}

// WorkloadName renders a workload as list output names it: namespace/name[Kind].
func WorkloadName(w *inventory.Workload) string {
	return w.Namespace + "/" + w.Name + "[" + w.Kind + "]"
}

// Options tune an analysis.
type Options struct {
	// PodCIDRs are the addresses the cluster gives pods, when known. They decide whether an
	// admin policy's networks peer also matches pods. Nodes' spec.podCIDRs are used when empty.
	PodCIDRs []netip.Prefix
	// NodeCIDRs hold the nodes' addresses, where traffic from and to host-network pods comes
	// from and goes to. The Nodes' status.addresses (InternalIP, ExternalIP) are used when
	// empty; when neither says, a host-network pod's address is anywhere in its family.
	NodeCIDRs []netip.Prefix
}

// Analysis is the compiled connectivity model of one snapshot. It caches what it computes, so
// it is not safe for concurrent use.
type Analysis struct {
	Snapshot *inventory.Snapshot
	// Problems are policies the API server would refuse; they are left out of the analysis.
	Problems []inventory.Problem
	// Refused names the same policies, with the reason.
	Refused []Refused
	// Notes say what the analysis could not model: CNI-specific policies, admin policy peers
	// it cannot resolve, named ports no pod defines, equal admin priorities.
	Notes []string

	namespaces map[string]*namespace
	classes    []*class
	byKey      map[string]*class
	byWorkload map[*inventory.Workload]*class
	policies   []*policy
	admin      []*policy
	baseline   []*policy
	// per class and direction: the NetworkPolicies selecting it, their rules, and the admin
	// and baseline rules that apply to it, in order of precedence.
	perClass [2][]*classRules
	// atoms split the address space so that every policy treats all addresses of an atom alike.
	atoms []IPSet
	// cniGoverned marks namespaces whose pods CNI-specific policies may select ("*" for all).
	cniGoverned map[string][]string
	// anyNS is the probe standing for a pod in a namespace the snapshot does not know.
	anyNS *Endpoint
	// nsProbes stand for an unlabelled pod in each namespace of the snapshot, made on demand.
	nsProbes map[string]Endpoint
	// policiesByNS and realByNS index NetworkPolicies and real classes by namespace, so that
	// selectors confined to one namespace (every NetworkPolicy's podSelector, podSelector-only
	// peers) are matched against that namespace alone instead of the whole estate.
	policiesByNS map[string][]*policy
	realByNS     map[string][]*class
	real         []*class
	// probes caches Probe's endpoints.
	probes map[string]Endpoint
	opts   Options
	// hostAddrs are the nodes' addresses, nil when unknown.
	hostAddrs IPSet
	idx       *classIndex
	// bulkCache holds, per direction and class id, the class's bulk vector once computed.
	bulkCache [2]map[int]bulkVector
}

// WithNetworkPolicies analyses the same snapshot with its NetworkPolicies replaced by nps
// (admin and baseline policies stay), to judge a proposed set of policies.
func (a *Analysis) WithNetworkPolicies(nps []*inventory.NetworkPolicy) *Analysis {
	s := *a.Snapshot
	s.NetworkPolicies = nps
	return Analyze(&s, a.opts)
}

// Translate returns the endpoint of another analysis of the same snapshot that stands for e.
func (a *Analysis) Translate(e Endpoint) Endpoint {
	switch {
	case e.Workload != nil:
		return a.WorkloadEndpoint(e.Workload)
	case e.cls != nil:
		return a.Probe(e.cls.ns.name, e.cls.labels)
	}
	return e
}

// Probe returns an endpoint standing for pods with these labels in this namespace that the
// snapshot does not hold (a DNS server or ingress controller outside the scanned manifests,
// seen in flow metadata). A namespace the snapshot does not know carries only its name label.
func (a *Analysis) Probe(namespace string, podLabels map[string]string) Endpoint {
	key := namespace + "/" + labels.Set(podLabels).String()
	if e, ok := a.probes[key]; ok {
		return e
	}
	if a.probes == nil {
		a.probes = map[string]Endpoint{}
	}
	e := a.probe(namespace, nil, podLabels)
	a.probes[key] = e
	return e
}

// ProbeNamespace and ProbeLabels describe a probe endpoint.
func (e Endpoint) ProbeNamespace() string {
	if e.cls == nil || !e.cls.synthetic {
		return ""
	}
	return e.cls.ns.name
}

// ProbeLabels are a probe endpoint's pod labels.
func (e Endpoint) ProbeLabels() map[string]string {
	if e.cls == nil || !e.cls.synthetic {
		return nil
	}
	return e.cls.labels
}

// classRules is what applies to one class in one direction.
type classRules struct {
	isolatedBy []*policy
	np         []*Rule
	admin      []*Rule
	baseline   []*Rule
}

// Analyze compiles a snapshot's policies and workloads. It never fails: policies the API
// server would refuse are reported in Problems and left out.
func Analyze(s *inventory.Snapshot, opts Options) *Analysis {
	a := &Analysis{Snapshot: s, opts: opts, namespaces: map[string]*namespace{}, byKey: map[string]*class{},
		byWorkload: map[*inventory.Workload]*class{}, cniGoverned: map[string][]string{}}
	for _, n := range s.Namespaces {
		a.namespaces[n.Name] = &namespace{name: n.Name, labels: labels.Set(n.Labels)}
	}
	a.hostAddrs = nodeAddresses(s, opts)
	for _, w := range s.Workloads {
		a.addWorkload(w)
	}
	c := &compiler{}
	for _, p := range opts.PodCIDRs {
		c.podAddrs = c.podAddrs.Union(PrefixSet(p.Masked()))
	}
	if len(c.podAddrs) == 0 {
		for _, n := range s.Nodes {
			for _, cidr := range n.Spec.PodCIDRs {
				if p, err := netip.ParsePrefix(cidr); err == nil {
					c.podAddrs = c.podAddrs.Union(PrefixSet(p.Masked()))
				}
			}
		}
	}
	for _, np := range s.NetworkPolicies {
		if p := c.networkPolicy(np); p != nil {
			a.policies = append(a.policies, p)
		}
	}
	for i, anp := range s.AdminNetworkPolicies {
		if p := c.adminPolicy(anp, i); p != nil {
			a.admin = append(a.admin, p)
		}
	}
	sortAdmin(a.admin)
	for i := 1; i < len(a.admin); i++ {
		if a.admin[i].ref.Priority == a.admin[i-1].ref.Priority {
			c.notes = append(c.notes, fmt.Sprintf("AdminNetworkPolicies %q and %q share priority %d: which one wins where both match is up to the network plugin; Redoubt applies them in name order",
				a.admin[i-1].ref.Name, a.admin[i].ref.Name, a.admin[i].ref.Priority))
		}
	}
	for _, banp := range s.BaselineAdminNetworkPolicies {
		if p := c.baselinePolicy(banp); p != nil {
			a.baseline = append(a.baseline, p)
		}
	}
	a.Problems = c.problems
	a.Refused = c.refused
	a.Notes = c.notes
	for _, o := range s.Others {
		if !o.IsCNIPolicy() {
			continue
		}
		ns := o.Namespace
		if ns == "" {
			ns = "*"
		}
		a.cniGoverned[ns] = append(a.cniGoverned[ns], o.Kind+" "+qualified(o.Namespace, o.Name))
		a.Notes = append(a.Notes, fmt.Sprintf("%s %s (%s) is specific to one network plugin and is not analysed: the pods it selects may be allowed or denied more than shown",
			o.Kind, qualified(o.Namespace, o.Name), o.Origin))
	}
	a.computeAtoms()
	for _, cl := range a.classes {
		a.indexClass(cl)
	}
	a.noteUndefinedNamedPorts()
	a.notePodLabels(c.podKeys)
	for _, w := range s.Workloads {
		if w.Template.Spec.HostNetwork {
			nodes := "only ipBlocks holding a whole address family are sure to admit (--node-cidrs names the nodes)"
			if len(a.hostAddrs) > 0 {
				nodes = "ipBlocks holding " + a.hostAddrs.String() + " admit"
			}
			a.Notes = append(a.Notes, fmt.Sprintf("%s uses the host's network: NetworkPolicy neither selects nor isolates it, and pod selectors never match it as a peer; its traffic is the node's, which %s",
				WorkloadName(w), nodes))
		}
	}
	return a
}

// notePodLabels notes workloads whose live pods carry labels their template lacks (or
// differ from it) on keys that policies select on: Redoubt analyses a workload by its pod
// template, so a policy that picks single pods (one StatefulSet replica by
// statefulset.kubernetes.io/pod-name, say) is not modelled per pod.
func (a *Analysis) notePodLabels(keys map[string]bool) {
	if len(keys) == 0 {
		return
	}
	for _, w := range a.Snapshot.Workloads {
		var differ []string
		for _, p := range w.Pods {
			for k, v := range p.Labels {
				if keys[k] && w.Template.Labels[k] != v && !slices.Contains(differ, k) {
					differ = append(differ, k)
				}
			}
			for k := range w.Template.Labels {
				if _, ok := p.Labels[k]; !ok && keys[k] && !slices.Contains(differ, k) {
					differ = append(differ, k)
				}
			}
		}
		if len(differ) > 0 {
			slices.Sort(differ)
			a.Notes = append(a.Notes, fmt.Sprintf("%s: its pods' labels %s differ from its pod template's, and policies select on them; the workload is analysed by its template's labels",
				WorkloadName(w), strings.Join(differ, ", ")))
		}
	}
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// CNIPolicies names the CNI-specific policies that may select the workload's pods.
func (a *Analysis) CNIPolicies(w *inventory.Workload) []string {
	return slices.Concat(a.cniGoverned[w.Namespace], a.cniGoverned["*"])
}

func workloadPorts(w *inventory.Workload) []namedPort {
	var out []namedPort
	spec := &w.Template.Spec
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, p := range c.Ports {
			if p.Name == "" {
				continue
			}
			proto, err := protocolOf(&p.Protocol)
			if err != nil {
				continue
			}
			out = append(out, namedPort{name: p.Name, proto: proto, port: p.ContainerPort})
		}
	}
	slices.SortFunc(out, func(x, y namedPort) int {
		return cmp.Or(cmp.Compare(x.name, y.name), cmp.Compare(x.proto, y.proto), cmp.Compare(x.port, y.port))
	})
	return out
}

func (a *Analysis) namespace(name string) *namespace {
	ns := a.namespaces[name]
	if ns == nil {
		// Snapshots from the Builder always hold the namespaces of their workloads; this is for
		// hand-made ones.
		ns = &namespace{name: name, labels: labels.Set{"kubernetes.io/metadata.name": name}}
		a.namespaces[name] = ns
	}
	return ns
}

func (a *Analysis) addWorkload(w *inventory.Workload) {
	ports := workloadPorts(w)
	host := w.Template.Spec.HostNetwork
	key := classKey(w.Namespace, w.Template.Labels, ports, host)
	cl := a.byKey[key]
	if cl == nil {
		cl = &class{id: len(a.classes), ns: a.namespace(w.Namespace), labels: labels.Set(w.Template.Labels), ports: ports, hostNetwork: host}
		if host {
			cl.hostAddrs = a.hostAddrs
		}
		a.classes = append(a.classes, cl)
		a.byKey[key] = cl
	}
	cl.workloads = append(cl.workloads, w)
	a.byWorkload[w] = cl
}

// probe returns an endpoint standing for a pod with these labels in this namespace, which need
// not exist. nsLabels are used when the namespace is not in the snapshot.
func (a *Analysis) probe(ns string, nsLabels, podLabels map[string]string) Endpoint {
	n := a.namespaces[ns]
	if n == nil {
		l := labels.Set{"kubernetes.io/metadata.name": ns}
		for k, v := range nsLabels {
			l[k] = v
		}
		n = &namespace{name: ns, labels: l}
	}
	cl := &class{id: len(a.classes), ns: n, labels: labels.Set(podLabels), synthetic: true}
	a.classes = append(a.classes, cl)
	a.indexClass(cl)
	return Endpoint{cls: cl}
}

// indexClass finds the policies and rules that apply to a class.
func (a *Analysis) indexClass(cl *class) {
	for d := range 2 {
		cr := &classRules{}
		if !cl.hostNetwork {
			for _, p := range a.admin {
				if p.subject.matches(cl) {
					cr.admin = append(cr.admin, p.rules[d]...)
				}
			}
			for _, p := range a.policiesIn(cl.ns.name) {
				if p.affects[d] && p.subject.matches(cl) {
					cr.isolatedBy = append(cr.isolatedBy, p)
					cr.np = append(cr.np, p.rules[d]...)
				}
			}
			for _, p := range a.baseline {
				if p.subject.matches(cl) {
					cr.baseline = append(cr.baseline, p.rules[d]...)
				}
			}
		}
		for len(a.perClass[d]) <= cl.id {
			a.perClass[d] = append(a.perClass[d], nil)
		}
		a.perClass[d][cl.id] = cr
	}
}

// computeAtoms splits the address space at every CIDR boundary any policy names.
func (a *Analysis) computeAtoms() {
	type bound struct {
		at    addr
		start bool
	}
	cuts := map[addr]bool{allIPv4.from: true, allIPv6.from: true}
	add := func(s IPSet) {
		for _, r := range s {
			cuts[r.from] = true
			if !r.to.isMax() {
				cuts[r.to.next()] = true
			}
		}
	}
	for _, p := range slices.Concat(a.admin, a.policies, a.baseline) {
		for d := range 2 {
			for _, r := range p.rules[d] {
				for _, pe := range r.peers {
					add(pe.ips)
				}
			}
		}
	}
	starts := make([]addr, 0, len(cuts))
	for c := range cuts {
		starts = append(starts, c)
	}
	slices.SortFunc(starts, compareAddr)
	a.atoms = make([]IPSet, len(starts))
	for i, s := range starts {
		var end addr
		if i+1 < len(starts) && starts[i+1].v6 == s.v6 {
			end = starts[i+1].prev()
		} else if s.v6 {
			end = allIPv6.to
		} else {
			end = allIPv4.to
		}
		a.atoms[i] = IPSet{{s, end}}
	}
}

// Atoms returns the address ranges every policy treats alike, covering all addresses.
func (a *Analysis) Atoms() []IPSet { return a.atoms }

// noteUndefinedNamedPorts notes named ports that no pod the rule could apply to defines.
func (a *Analysis) noteUndefinedNamedPorts() {
	for _, u := range a.UndefinedNamedPorts() {
		a.Notes = append(a.Notes, fmt.Sprintf("%s %s.ports[%d]: no pod it can reach defines a %s port named %q, so the entry allows nothing",
			u.Rule.policy.ref, u.Rule.Path(), u.Index, u.Proto, u.Name))
	}
}

// namedPortDefined reports whether any destination of the rule defines the named port.
func (a *Analysis) namedPortDefined(r *Rule, pe *portEntry) bool {
	defines := func(cl *class) bool { return !pe.conns(Endpoint{cls: cl}).IsEmpty() }
	if r.dir == Ingress {
		for _, cl := range a.candidates(r.policy.subject) {
			if r.policy.subject.matches(cl) && defines(cl) {
				return true
			}
		}
		return false
	}
	if r.allPeers {
		return slices.ContainsFunc(a.realClasses(), defines)
	}
	for _, p := range r.peers {
		if !p.hasPods && !p.podsByIP {
			continue
		}
		classes := a.realClasses()
		if p.hasPods && !p.podsByIP {
			classes = a.candidates(p.pods)
		}
		for _, cl := range classes {
			if p.matchesClass(cl) && defines(cl) {
				return true
			}
		}
	}
	return false
}

// policiesIn returns the NetworkPolicies of a namespace, in analysis order.
func (a *Analysis) policiesIn(ns string) []*policy {
	if a.policiesByNS == nil {
		a.policiesByNS = map[string][]*policy{}
		for _, p := range a.policies {
			a.policiesByNS[p.namespace] = append(a.policiesByNS[p.namespace], p)
		}
	}
	return a.policiesByNS[ns]
}

// candidates returns the real classes a selector can match: those of its namespace when it is
// confined to one, else every real class.
func (a *Analysis) candidates(s selector) []*class {
	if a.realByNS == nil {
		a.realByNS = map[string][]*class{}
		for _, cl := range a.classes {
			if !cl.synthetic {
				a.realByNS[cl.ns.name] = append(a.realByNS[cl.ns.name], cl)
			}
		}
	}
	if s.ns == nil {
		return a.realByNS[s.own]
	}
	return a.realClasses()
}

// WorkloadEndpoint returns the endpoint of a workload of the snapshot.
func (a *Analysis) WorkloadEndpoint(w *inventory.Workload) Endpoint {
	return Endpoint{Workload: w, cls: a.byWorkload[w]}
}

// Workloads returns every workload endpoint, in snapshot order.
func (a *Analysis) Workloads() []Endpoint {
	out := make([]Endpoint, 0, len(a.Snapshot.Workloads))
	for _, w := range a.Snapshot.Workloads {
		out = append(out, a.WorkloadEndpoint(w))
	}
	return out
}

// AddressEndpoint returns the endpoint for a set of addresses. The caller makes sure every
// policy treats the addresses alike (one atom, or part of one); see SplitAddresses.
func AddressEndpoint(ips IPSet) Endpoint { return Endpoint{IPs: ips} }

// SplitAddresses cuts a set of addresses into the parts every policy treats alike.
func (a *Analysis) SplitAddresses(ips IPSet) []IPSet {
	var out []IPSet
	for _, at := range a.atoms {
		if x := at.Intersect(ips); len(x) > 0 {
			out = append(out, x)
		}
	}
	return out
}

// HostNetwork reports whether the endpoint's pods use the node's network, where NetworkPolicy
// neither selects nor isolates them.
func (e Endpoint) HostNetwork() bool { return e.cls != nil && e.cls.hostNetwork }

// Isolated reports whether NetworkPolicies isolate the workload in a direction, and by which.
func (a *Analysis) Isolated(e Endpoint, d Direction) []PolicyRef {
	if e.cls == nil {
		return nil
	}
	var out []PolicyRef
	for _, p := range a.perClass[d][e.cls.id].isolatedBy {
		out = append(out, p.ref)
	}
	return out
}

// AdminGoverned reports whether admin or baseline policies have rules for the workload in a
// direction.
func (a *Analysis) AdminGoverned(e Endpoint, d Direction) bool {
	if e.cls == nil {
		return false
	}
	cr := a.perClass[d][e.cls.id]
	return len(cr.admin) > 0 || len(cr.baseline) > 0
}

// nodeAddresses returns the nodes' addresses, where host-network pods' traffic comes from:
// opts.NodeCIDRs, else the InternalIP and ExternalIP addresses the Nodes report; nil when
// neither says.
func nodeAddresses(s *inventory.Snapshot, opts Options) IPSet {
	var out IPSet
	for _, p := range opts.NodeCIDRs {
		out = out.Union(PrefixSet(p.Masked()))
	}
	if len(out) > 0 {
		return out
	}
	for _, n := range s.Nodes {
		for _, na := range n.Status.Addresses {
			if na.Type != corev1.NodeInternalIP && na.Type != corev1.NodeExternalIP {
				continue
			}
			if ip, err := netip.ParseAddr(na.Address); err == nil {
				out = out.Union(AddrSet(ip.Unmap()))
			}
		}
	}
	return out
}
