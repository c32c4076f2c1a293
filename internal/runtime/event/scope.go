package event

import "net/netip"

// Scopes of a remote address, from the cluster's CIDRs.
const (
	ScopeLoopback = "loopback"
	ScopePod      = "pod"
	ScopeService  = "service"
	ScopeExternal = "external"
)

// Network says what counts as inside the cluster. It is given (flags, or the cluster's
// configuration) and never guessed: with no CIDRs, Scope says only loopback or nothing.
type Network struct {
	PodCIDRs     []netip.Prefix
	ServiceCIDRs []netip.Prefix
}

// Scope places addr: loopback, pod, service, external, or "" when the network is not known.
func (n Network) Scope(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.IsLoopback() {
		return ScopeLoopback
	}
	for _, p := range n.PodCIDRs {
		if p.Contains(addr) {
			return ScopePod
		}
	}
	for _, p := range n.ServiceCIDRs {
		if p.Contains(addr) {
			return ScopeService
		}
	}
	if len(n.PodCIDRs)+len(n.ServiceCIDRs) == 0 {
		return ""
	}
	return ScopeExternal
}
