// Package traffic compares observed flows with what the policies allow: it maps each flow's
// addresses to workloads through the snapshot (pod addresses, Service cluster IPs to the
// workloads behind them, Hubble's pod metadata), then reports the flows the policies do not
// allow, the allowed connections nobody used, and how many flows every rule, peer and port
// matched.
package traffic

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/flow"
)

// Mapper maps flow endpoints to the analysis' endpoints.
type Mapper struct {
	a      *netpol.Analysis
	podIPs map[netip.Addr]*inventory.Workload
	svcIPs map[netip.Addr]*inventory.Service
	pods   map[string]*inventory.Pod
	byNS   map[string][]*inventory.Workload
	byName map[string][]*inventory.Workload
}

// NewMapper indexes the snapshot's pod and Service addresses.
func NewMapper(a *netpol.Analysis) *Mapper {
	m := &Mapper{a: a, podIPs: map[netip.Addr]*inventory.Workload{}, svcIPs: map[netip.Addr]*inventory.Service{},
		pods: map[string]*inventory.Pod{}, byNS: map[string][]*inventory.Workload{}, byName: map[string][]*inventory.Workload{}}
	s := a.Snapshot
	for _, p := range s.Pods {
		m.pods[p.Namespace+"/"+p.Name] = p
		if p.Spec.HostNetwork {
			// A host-network pod has its node's address, shared with everything else there.
			continue
		}
		ips := []string{p.Status.PodIP}
		for _, x := range p.Status.PodIPs {
			ips = append(ips, x.IP)
		}
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip); err == nil {
				m.podIPs[a.Unmap()] = p.Workload
			}
		}
	}
	for _, svc := range s.Services {
		ips := append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...)
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip); err == nil {
				m.svcIPs[a.Unmap()] = svc
			}
		}
	}
	for _, w := range s.Workloads {
		m.byNS[w.Namespace] = append(m.byNS[w.Namespace], w)
		m.byName[w.Namespace+"/"+w.Name] = append(m.byName[w.Namespace+"/"+w.Name], w)
	}
	return m
}

// Target is where a flow goes: a workload or address, on a port, perhaps through a Service.
type Target struct {
	Dst netpol.Endpoint
	// Want is the connection the flow needs: one port of one protocol, or other protocols.
	Want netpol.ConnSet
	// Port renders it: "5432/TCP", "ICMP".
	Port string
	// Via names the Service whose cluster IP the flow was sent to.
	Via string
}

// Mapped is one flow with its endpoints resolved.
type Mapped struct {
	Flow    flow.Flow
	Src     netpol.Endpoint
	Targets []Target
}

// Map resolves a flow's endpoints. It returns an error when an end matches nothing it can
// name (no address and no known workload or pod).
func (m *Mapper) Map(f flow.Flow) (Mapped, error) {
	out := Mapped{Flow: f}
	src, err := m.endpoint(f.Src)
	if err != nil {
		return out, fmt.Errorf("%s: source %s: %w", f.Origin, f.Src, err)
	}
	out.Src = src
	want, port := wantOf(f)
	if f.Dst.IP.IsValid() && m.podIPs[f.Dst.IP] == nil {
		if svc := m.svcIPs[f.Dst.IP]; svc != nil {
			via := fmt.Sprintf("Service %s/%s", svc.Namespace, svc.Name)
			for _, w := range svc.Workloads {
				tw, tport, ok := servicePort(svc, w, f)
				if !ok {
					continue
				}
				out.Targets = append(out.Targets, Target{Dst: m.a.WorkloadEndpoint(w), Want: tw, Port: tport, Via: via})
			}
			if len(out.Targets) == 0 {
				return out, fmt.Errorf("%s: destination %s is %s, which has no workload behind %s", f.Origin, f.Dst.IP, via, port)
			}
			return out, nil
		}
	}
	dst, err := m.endpoint(f.Dst)
	if err != nil {
		return out, fmt.Errorf("%s: destination %s: %w", f.Origin, f.Dst, err)
	}
	out.Targets = []Target{{Dst: dst, Want: want, Port: port}}
	return out, nil
}

func wantOf(f flow.Flow) (netpol.ConnSet, string) {
	if p, err := netpol.ParseProtocol(f.Protocol); err == nil {
		pp := netpol.PortProto{Protocol: p, Port: f.DstPort}
		return pp.Conns(), pp.String()
	}
	return netpol.OtherConns(), f.Protocol
}

// servicePort translates a flow to a Service port into the workload's target port.
func servicePort(svc *inventory.Service, w *inventory.Workload, f flow.Flow) (netpol.ConnSet, string, bool) {
	p, err := netpol.ParseProtocol(f.Protocol)
	if err != nil {
		return netpol.OtherConns(), f.Protocol, true
	}
	for _, sp := range svc.Spec.Ports {
		sproto := sp.Protocol
		if sproto == "" {
			sproto = corev1.ProtocolTCP
		}
		if sp.Port != f.DstPort || string(sproto) != p.String() {
			continue
		}
		port := sp.TargetPort.IntVal
		if name := sp.TargetPort.StrVal; name != "" {
			port = 0
			for _, c := range w.Template.Spec.Containers {
				for _, cp := range c.Ports {
					cproto := cp.Protocol
					if cproto == "" {
						cproto = corev1.ProtocolTCP
					}
					if cp.Name == name && cproto == sproto {
						port = cp.ContainerPort
					}
				}
			}
		}
		if port == 0 {
			port = sp.Port
		}
		pp := netpol.PortProto{Protocol: p, Port: port}
		return pp.Conns(), pp.String(), true
	}
	return netpol.ConnSet{}, "", false
}

// endpoint resolves one end: a pod address, then Hubble or simple-format workload metadata,
// then an address outside the cluster's pods.
func (m *Mapper) endpoint(e flow.Endpoint) (netpol.Endpoint, error) {
	if e.IP.IsValid() {
		if w := m.podIPs[e.IP]; w != nil {
			return m.a.WorkloadEndpoint(w), nil
		}
	}
	if w := m.byMetadata(e); w != nil {
		return m.a.WorkloadEndpoint(w), nil
	}
	// A pod the snapshot does not hold, described by Hubble: its namespace and labels are
	// enough for the policies' selectors.
	if e.Namespace != "" && len(e.Labels) > 0 && e.Reserved == "" {
		return m.a.Probe(e.Namespace, e.Labels), nil
	}
	if e.IP.IsValid() {
		return netpol.AddressEndpoint(netpol.AddrSet(e.IP)), nil
	}
	return netpol.Endpoint{}, fmt.Errorf("no address, and no workload %s in the snapshot", describe(e))
}

func describe(e flow.Endpoint) string {
	switch {
	case e.Workload != "":
		return e.Namespace + "/" + e.Workload
	case e.Pod != "":
		return "for pod " + e.Namespace + "/" + e.Pod
	}
	return "named"
}

// byMetadata finds the workload an endpoint's metadata names: workload name and kind, pod
// name, or pod labels matched against the selectors of the namespace's workloads.
func (m *Mapper) byMetadata(e flow.Endpoint) *inventory.Workload {
	if e.Namespace == "" {
		return nil
	}
	if e.Workload != "" {
		var found []*inventory.Workload
		for _, w := range m.byName[e.Namespace+"/"+e.Workload] {
			if e.Kind == "" || strings.EqualFold(e.Kind, w.Kind) {
				found = append(found, w)
			}
		}
		if len(found) == 1 {
			return found[0]
		}
	}
	if e.Pod != "" {
		if p := m.pods[e.Namespace+"/"+e.Pod]; p != nil {
			return p.Workload
		}
		// Pods are named after their owner: web-7d9f8c6b5-x2x4z, db-0, backup-29123456-abcde.
		var best *inventory.Workload
		for _, w := range m.byNS[e.Namespace] {
			if strings.HasPrefix(e.Pod, w.Name+"-") && (best == nil || len(w.Name) > len(best.Name)) {
				best = w
			}
		}
		if best != nil {
			return best
		}
	}
	if len(e.Labels) > 0 {
		var found []*inventory.Workload
		for _, w := range m.byNS[e.Namespace] {
			if w.Selector == nil {
				continue
			}
			sel, err := labelsSelector(w)
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(e.Labels)) {
				found = append(found, w)
			}
		}
		if len(found) == 1 {
			return found[0]
		}
	}
	return nil
}

func labelsSelector(w *inventory.Workload) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(w.Selector)
}

// privateRanges are addresses that are usually inside a cluster.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("fc00::/7"),
}

func private(a netip.Addr) bool {
	return slices.ContainsFunc(privateRanges, func(p netip.Prefix) bool { return p.Contains(a) })
}
