package event

import (
	"net/netip"
	"testing"
)

func TestScope(t *testing.T) {
	n := Network{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}, ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}}
	cases := []struct {
		net  Network
		addr string
		want string
	}{
		{n, "127.0.0.1", ScopeLoopback},
		{n, "::1", ScopeLoopback},
		{n, "10.244.3.7", ScopePod},
		{n, "::ffff:10.244.3.7", ScopePod},
		{n, "10.96.0.1", ScopeService},
		{n, "203.0.113.9", ScopeExternal},
		{Network{}, "203.0.113.9", ""}, // not told what the cluster is: not guessed
		{Network{}, "127.0.0.1", ScopeLoopback},
	}
	for _, tc := range cases {
		if got := tc.net.Scope(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Scope(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
