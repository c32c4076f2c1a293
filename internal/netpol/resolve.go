package netpol

import (
	"fmt"
	"net/netip"
	"strings"

	"redoubt.dev/redoubt/internal/inventory"
)

// Resolve finds the endpoint a person names: "namespace/name", "namespace/Kind/name",
// "namespace/name[Kind]", a bare workload name when it is unique, an IP address, or a CIDR.
// Addresses come back whole; split them with SplitAddresses where policies treat parts apart.
func (a *Analysis) Resolve(s string) (Endpoint, error) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		if w := a.podIP(ip); w != nil {
			return a.WorkloadEndpoint(w), nil
		}
		return AddressEndpoint(AddrSet(ip)), nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return AddressEndpoint(PrefixSet(p.Masked())), nil
	}
	w, err := FindWorkload(a.Snapshot, s)
	if err != nil {
		return Endpoint{}, err
	}
	return a.WorkloadEndpoint(w), nil
}

// podIP returns the workload whose pod has this address.
func (a *Analysis) podIP(ip netip.Addr) *inventory.Workload {
	for _, p := range a.Snapshot.Pods {
		if p.Spec.HostNetwork {
			continue
		}
		for _, pip := range p.Status.PodIPs {
			if x, err := netip.ParseAddr(pip.IP); err == nil && x.Unmap() == ip.Unmap() {
				return p.Workload
			}
		}
		if x, err := netip.ParseAddr(p.Status.PodIP); err == nil && x.Unmap() == ip.Unmap() {
			return p.Workload
		}
	}
	return nil
}

// FindWorkload finds a workload by "namespace/name", "namespace/Kind/name",
// "namespace/name[Kind]" or a bare name that is unique in the snapshot.
func FindWorkload(s *inventory.Snapshot, name string) (*inventory.Workload, error) {
	kind := ""
	if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		kind = name[i+1 : len(name)-1]
		name = name[:i]
	}
	parts := strings.Split(name, "/")
	var ns, n string
	switch len(parts) {
	case 1:
		n = parts[0]
	case 2:
		ns, n = parts[0], parts[1]
	case 3:
		ns, kind, n = parts[0], parts[1], parts[2]
	default:
		return nil, fmt.Errorf("%q: name a workload as namespace/name or namespace/Kind/name, or give an address", name)
	}
	var found []*inventory.Workload
	for _, w := range s.Workloads {
		if w.Name == n && (ns == "" || w.Namespace == ns) && (kind == "" || strings.EqualFold(w.Kind, kind)) {
			found = append(found, w)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%q: no such workload (name one as namespace/name or namespace/Kind/name, or give an address)", name)
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, w := range found {
		names[i] = WorkloadName(w)
	}
	return nil, fmt.Errorf("%q is ambiguous: %s", name, strings.Join(names, ", "))
}
