package netpol

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Protocol is a transport protocol NetworkPolicy can name.
type Protocol uint8

// The protocols NetworkPolicy ports can name. Traffic of any other protocol (ICMP, ...) is only
// ever allowed by rules without ports; ConnSet.Other stands for it.
const (
	TCP Protocol = iota
	UDP
	SCTP
	numProtocols
)

var protocolNames = [numProtocols]string{"TCP", "UDP", "SCTP"}

func (p Protocol) String() string {
	if p < numProtocols {
		return protocolNames[p]
	}
	return fmt.Sprintf("Protocol(%d)", p)
}

// ParseProtocol reads TCP, UDP or SCTP (any case).
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToUpper(s) {
	case "TCP":
		return TCP, nil
	case "UDP":
		return UDP, nil
	case "SCTP":
		return SCTP, nil
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", s)
}

func protocolOf(p *corev1.Protocol) (Protocol, error) {
	if p == nil || *p == "" {
		return TCP, nil
	}
	switch *p {
	case corev1.ProtocolTCP:
		return TCP, nil
	case corev1.ProtocolUDP:
		return UDP, nil
	case corev1.ProtocolSCTP:
		return SCTP, nil
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", *p)
}

// MinPort and MaxPort bound the port numbers a rule can name.
const (
	MinPort = 1
	MaxPort = 65535
)

// PortRange is an inclusive range of port numbers.
type PortRange struct{ From, To int32 }

// ConnSet is a set of connections: for each of TCP, UDP and SCTP a set of destination ports, and
// Other for every other protocol (which only port-less rules allow). The zero value is empty.
// ConnSets are values: operations return new sets and never modify their arguments.
type ConnSet struct {
	ports [numProtocols][]PortRange // sorted, disjoint, not adjacent
	Other bool
}

var fullRange = []PortRange{{MinPort, MaxPort}}

// AllConns is every connection: all ports of every protocol.
func AllConns() ConnSet {
	return ConnSet{ports: [numProtocols][]PortRange{fullRange, fullRange, fullRange}, Other: true}
}

// NoConns is the empty set.
func NoConns() ConnSet { return ConnSet{} }

// PortConns is one protocol's ports from..to.
func PortConns(p Protocol, from, to int32) ConnSet {
	var c ConnSet
	if from < MinPort {
		from = MinPort
	}
	if to > MaxPort {
		to = MaxPort
	}
	if from <= to {
		c.ports[p] = []PortRange{{from, to}}
	}
	return c
}

// IsEmpty reports whether the set allows nothing.
func (c ConnSet) IsEmpty() bool {
	return !c.Other && len(c.ports[TCP]) == 0 && len(c.ports[UDP]) == 0 && len(c.ports[SCTP]) == 0
}

// IsAll reports whether the set allows everything.
func (c ConnSet) IsAll() bool {
	if !c.Other {
		return false
	}
	for p := range numProtocols {
		if !isFull(c.ports[p]) {
			return false
		}
	}
	return true
}

func isFull(r []PortRange) bool { return len(r) == 1 && r[0].From == MinPort && r[0].To == MaxPort }

// Ports returns the port ranges of one protocol.
func (c ConnSet) Ports(p Protocol) []PortRange { return c.ports[p] }

// Contains reports whether the set allows port on protocol p.
func (c ConnSet) Contains(p Protocol, port int32) bool {
	for _, r := range c.ports[p] {
		if port < r.From {
			return false
		}
		if port <= r.To {
			return true
		}
	}
	return false
}

// Equal reports whether two sets hold the same connections.
func (c ConnSet) Equal(d ConnSet) bool {
	return c.Other == d.Other && slices.Equal(c.ports[TCP], d.ports[TCP]) &&
		slices.Equal(c.ports[UDP], d.ports[UDP]) && slices.Equal(c.ports[SCTP], d.ports[SCTP])
}

// Union returns c ∪ d.
func (c ConnSet) Union(d ConnSet) ConnSet {
	if c.IsEmpty() {
		return d
	}
	if d.IsEmpty() {
		return c
	}
	out := ConnSet{Other: c.Other || d.Other}
	for p := range numProtocols {
		out.ports[p] = unionRanges(c.ports[p], d.ports[p])
	}
	return out
}

// Intersect returns c ∩ d.
func (c ConnSet) Intersect(d ConnSet) ConnSet {
	if c.IsAll() {
		return d
	}
	if d.IsAll() {
		return c
	}
	out := ConnSet{Other: c.Other && d.Other}
	for p := range numProtocols {
		out.ports[p] = intersectRanges(c.ports[p], d.ports[p])
	}
	return out
}

// Subtract returns c − d.
func (c ConnSet) Subtract(d ConnSet) ConnSet {
	if d.IsEmpty() || c.IsEmpty() {
		return c
	}
	out := ConnSet{Other: c.Other && !d.Other}
	for p := range numProtocols {
		out.ports[p] = subtractRanges(c.ports[p], d.ports[p])
	}
	return out
}

// ContainsAll reports whether d ⊆ c.
func (c ConnSet) ContainsAll(d ConnSet) bool { return d.Subtract(c).IsEmpty() }

func unionRanges(a, b []PortRange) []PortRange {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	case isFull(a):
		return a
	case isFull(b):
		return b
	}
	all := make([]PortRange, 0, len(a)+len(b))
	all = append(all, a...)
	all = append(all, b...)
	slices.SortFunc(all, func(x, y PortRange) int { return int(x.From - y.From) })
	out := all[:1]
	for _, r := range all[1:] {
		last := &out[len(out)-1]
		if r.From <= last.To+1 {
			last.To = max(last.To, r.To)
			continue
		}
		out = append(out, r)
	}
	return out
}

func intersectRanges(a, b []PortRange) []PortRange {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	if isFull(a) {
		return b
	}
	if isFull(b) {
		return a
	}
	var out []PortRange
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].From, b[j].From), min(a[i].To, b[j].To)
		if lo <= hi {
			out = append(out, PortRange{lo, hi})
		}
		if a[i].To < b[j].To {
			i++
		} else {
			j++
		}
	}
	return out
}

func subtractRanges(a, b []PortRange) []PortRange {
	if len(a) == 0 || len(b) == 0 {
		return a
	}
	var out []PortRange
	j := 0
	for _, r := range a {
		from := r.From
		for j < len(b) && b[j].To < from {
			j++
		}
		k := j
		for k < len(b) && b[k].From <= r.To {
			if b[k].From > from {
				out = append(out, PortRange{from, b[k].From - 1})
			}
			from = max(from, b[k].To+1)
			k++
		}
		if from <= r.To {
			out = append(out, PortRange{from, r.To})
		}
	}
	return out
}

// String renders the set as "all", "none", or "TCP 80,8080-8090; UDP 53" (with "other protocols"
// when Other is set on a partial set).
func (c ConnSet) String() string {
	if c.IsAll() {
		return "all"
	}
	if c.IsEmpty() {
		return "none"
	}
	var parts []string
	for p := range numProtocols {
		if len(c.ports[p]) == 0 {
			continue
		}
		parts = append(parts, p.String()+" "+rangesString(c.ports[p]))
	}
	if c.Other {
		parts = append(parts, "other protocols")
	}
	return strings.Join(parts, "; ")
}

func rangesString(rs []PortRange) string {
	if isFull(rs) {
		return "all ports"
	}
	s := make([]string, len(rs))
	for i, r := range rs {
		if r.From == r.To {
			s[i] = strconv.Itoa(int(r.From))
		} else {
			s[i] = fmt.Sprintf("%d-%d", r.From, r.To)
		}
	}
	return strings.Join(s, ",")
}

// key is a compact identity of the set, for grouping.
func (c ConnSet) key() string {
	if c.IsAll() {
		return "*"
	}
	var b strings.Builder
	for p := range numProtocols {
		b.WriteByte(byte('0' + p))
		for _, r := range c.ports[p] {
			b.WriteString(strconv.Itoa(int(r.From)))
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.To)))
			b.WriteByte(',')
		}
	}
	if c.Other {
		b.WriteByte('o')
	}
	return b.String()
}

// PortProto is one destination port of one protocol, as `explain --port` and flows name it.
type PortProto struct {
	Protocol Protocol
	Port     int32
}

func (pp PortProto) String() string { return fmt.Sprintf("%d/%s", pp.Port, pp.Protocol) }

// Conns is the set holding just this port.
func (pp PortProto) Conns() ConnSet { return PortConns(pp.Protocol, pp.Port, pp.Port) }

// ParsePortProto reads "8080", "8080/TCP" or "53/udp" (TCP when no protocol is given).
func ParsePortProto(s string) (PortProto, error) {
	num, proto, hasProto := strings.Cut(s, "/")
	pp := PortProto{Protocol: TCP}
	if hasProto {
		p, err := ParseProtocol(proto)
		if err != nil {
			return pp, fmt.Errorf("port %q: %w", s, err)
		}
		pp.Protocol = p
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < MinPort || n > MaxPort {
		return pp, fmt.Errorf("port %q: want a number from 1 to 65535, optionally with /TCP, /UDP or /SCTP", s)
	}
	pp.Port = int32(n)
	return pp, nil
}

// OtherConns is the set of protocols without ports (ICMP, ...), which only port-less rules allow.
func OtherConns() ConnSet { return ConnSet{Other: true} }
