package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/netpol"
)

// Comparing with np-guard's netpol-analyzer: build it outside this repository (its module is
// github.com/np-guard/netpol-analyzer; `GONOSUMDB=github.com/np-guard`), run
//
//	netpolicy list --dirpath DIR -o json -f npguard.json -q
//	redoubt netpol list DIR --format json -o ours.json
//
// on an estate written by TestWriteEstate, then
//
//	go test ./internal/netpol/bench -run TestCompareNPGuard -ours ours.json -npguard npguard.json
//
// np-guard analyses IPv4 only and lists a Deployment's ReplicaSet as a workload of its own (with
// the same connections); the comparison keeps IPv4 and the Deployments.
var (
	oursFile    = flag.String("ours", "", "redoubt netpol list --format json output")
	npguardFile = flag.String("npguard", "", "netpolicy list -o json output")
)

type answers struct {
	pairs map[string]netpol.ConnSet
	// addrs maps "workload>" (to addresses) and ">workload" (from addresses) to address ranges
	// and what they allow.
	addrs map[string][]addrConns
}

type addrConns struct {
	ips   netpol.IPSet
	conns netpol.ConnSet
}

func newAnswers() *answers {
	return &answers{pairs: map[string]netpol.ConnSet{}, addrs: map[string][]addrConns{}}
}

func (a *answers) add(src, dst string, srcIPs, dstIPs netpol.IPSet, c netpol.ConnSet) {
	switch {
	case srcIPs == nil && dstIPs == nil:
		a.pairs[src+" => "+dst] = a.pairs[src+" => "+dst].Union(c)
	case dstIPs != nil:
		a.addrs[src+" => addresses"] = append(a.addrs[src+" => addresses"], addrConns{dstIPs.IPv4Only(), c})
	default:
		a.addrs["addresses => "+dst] = append(a.addrs["addresses => "+dst], addrConns{srcIPs.IPv4Only(), c})
	}
}

func parseIPs(s string) (netpol.IPSet, error) {
	var out netpol.IPSet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if p, err := netip.ParsePrefix(part); err == nil {
			out = out.Union(netpol.PrefixSet(p))
			continue
		}
		if a, err := netip.ParseAddr(part); err == nil {
			out = out.Union(netpol.AddrSet(a))
			continue
		}
		from, to, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("address %q", part)
		}
		fa, err1 := netip.ParseAddr(from)
		ta, err2 := netip.ParseAddr(to)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("address range %q", part)
		}
		out = out.Union(rangeSet(fa, ta))
	}
	return out, nil
}

// rangeSet builds the set from..to out of CIDRs.
func rangeSet(from, to netip.Addr) netpol.IPSet {
	var out netpol.IPSet
	for a := from; a.Compare(to) <= 0; {
		bits := a.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(a, bits-1)
			if p.Masked().Addr() != a || lastAddr(p).Compare(to) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(a, bits)
		out = out.Union(netpol.PrefixSet(p))
		next := lastAddr(p).Next()
		if !next.IsValid() || next.Compare(a) <= 0 {
			break
		}
		a = next
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

var portTok = regexp.MustCompile(`^(?:(TCP|UDP|SCTP) )?(\d+)(?:-(\d+))?$`)

// parseNPGuardConns reads np-guard's connection strings: "All Connections", "TCP 80,443",
// "TCP 80-90,UDP 53".
func parseNPGuardConns(s string) (netpol.ConnSet, error) {
	switch s {
	case "All Connections":
		return netpol.AllConns(), nil
	case "No Connections":
		return netpol.NoConns(), nil
	}
	var out netpol.ConnSet
	proto := ""
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		if p, ok := strings.CutPrefix(tok, "protocols: "); ok {
			tok = p
		}
		m := portTok.FindStringSubmatch(tok)
		if m == nil {
			return out, fmt.Errorf("connection %q: token %q", s, tok)
		}
		if m[1] != "" {
			proto = m[1]
		}
		p, err := netpol.ParseProtocol(proto)
		if err != nil {
			return out, fmt.Errorf("connection %q: %v", s, err)
		}
		from, _ := strconv.Atoi(m[2])
		to := from
		if m[3] != "" {
			to, _ = strconv.Atoi(m[3])
		}
		out = out.Union(netpol.PortConns(p, int32(from), int32(to)))
	}
	return out, nil
}

var replicaSetName = regexp.MustCompile(`^(.*)-[0-9a-z]{6,10}\[ReplicaSet\]$`)

func TestCompareNPGuard(t *testing.T) {
	if *oursFile == "" || *npguardFile == "" {
		t.Skip("give -ours and -npguard to compare answers with np-guard's netpol-analyzer")
	}
	ours, theirs := newAnswers(), newAnswers()
	var o struct {
		Connections []netpol.ConnectionJSON `json:"connections"`
	}
	data, err := os.ReadFile(*oursFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	name := func(e netpol.EndpointJSON) string { return fmt.Sprintf("%s/%s[%s]", e.Namespace, e.Name, e.Kind) }
	for _, c := range o.Connections {
		var srcIPs, dstIPs netpol.IPSet
		if c.Src.IP != "" {
			if srcIPs, err = parseIPs(c.Src.IP); err != nil {
				t.Fatal(err)
			}
		}
		if c.Dst.IP != "" {
			if dstIPs, err = parseIPs(c.Dst.IP); err != nil {
				t.Fatal(err)
			}
		}
		ours.add(name(c.Src), name(c.Dst), srcIPs, dstIPs, c.Allowed)
	}
	var n []struct{ Src, Dst, Conn string }
	data, err = os.ReadFile(*npguardFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	deployments := map[string]bool{}
	for _, c := range n {
		for _, e := range []string{c.Src, c.Dst} {
			if strings.HasSuffix(e, "[Deployment]") {
				deployments[strings.TrimSuffix(e, "[Deployment]")] = true
			}
		}
	}
	skipped := 0
	for _, c := range n {
		// np-guard lists a Deployment's ReplicaSet beside it; Redoubt rolls it up.
		rs := false
		for _, e := range []string{c.Src, c.Dst} {
			if m := replicaSetName.FindStringSubmatch(e); m != nil && deployments[m[1]] {
				rs = true
			}
		}
		if rs {
			skipped++
			continue
		}
		conns, err := parseNPGuardConns(c.Conn)
		if err != nil {
			t.Fatal(err)
		}
		var srcIPs, dstIPs netpol.IPSet
		isIP := func(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }
		if isIP(c.Src) {
			if srcIPs, err = parseIPs(c.Src); err != nil {
				t.Fatal(err)
			}
		}
		if isIP(c.Dst) {
			if dstIPs, err = parseIPs(c.Dst); err != nil {
				t.Fatal(err)
			}
		}
		theirs.add(c.Src, c.Dst, srcIPs, dstIPs, conns)
	}
	diffs := 0
	report := func(format string, args ...any) {
		diffs++
		if diffs <= 20 {
			t.Errorf(format, args...)
		}
	}
	for k, c := range ours.pairs {
		if !theirs.pairs[k].Equal(c) {
			report("%s: redoubt %s, np-guard %s", k, c, theirs.pairs[k])
		}
	}
	for k, c := range theirs.pairs {
		if _, ok := ours.pairs[k]; !ok {
			report("%s: redoubt none, np-guard %s", k, c)
		}
	}
	keys := map[string]bool{}
	for k := range ours.addrs {
		keys[k] = true
	}
	for k := range theirs.addrs {
		keys[k] = true
	}
	for k := range keys {
		// Compare at every boundary either side uses.
		var cuts []netip.Addr
		for _, side := range [][]addrConns{ours.addrs[k], theirs.addrs[k]} {
			for _, ac := range side {
				for _, p := range ac.ips.Prefixes() {
					cuts = append(cuts, p.Masked().Addr(), lastAddr(p), lastAddr(p).Next())
				}
			}
		}
		cuts = append(cuts, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"))
		for _, a := range cuts {
			if !a.IsValid() || !a.Is4() {
				continue
			}
			at := func(side []addrConns) netpol.ConnSet {
				var c netpol.ConnSet
				for _, ac := range side {
					if ac.ips.Contains(a) {
						c = c.Union(ac.conns)
					}
				}
				return c
			}
			if o, th := at(ours.addrs[k]), at(theirs.addrs[k]); !o.Equal(th) {
				report("%s at %s: redoubt %s, np-guard %s", k, a, o, th)
				break
			}
		}
	}
	t.Logf("compared %d workload pairs and %d workload-address groups (np-guard's %d ReplicaSet lines skipped): %d differences",
		len(ours.pairs), len(keys), skipped, diffs)
}
