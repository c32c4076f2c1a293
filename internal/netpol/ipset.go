package netpol

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// addr is an IPv4 or IPv6 address as a number within its family. IPv4 and IPv6 are separate
// spaces: an IPv6 CIDR never matches IPv4 traffic, even the v4-mapped range.
type addr struct {
	v6     bool
	hi, lo uint64
}

func addrOf(a netip.Addr) addr {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return addr{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return addr{v6: true, hi: hi, lo: lo}
}

func (a addr) netip() netip.Addr {
	if !a.v6 {
		return netip.AddrFrom4([4]byte{byte(a.lo >> 24), byte(a.lo >> 16), byte(a.lo >> 8), byte(a.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[i] = byte(a.hi >> (56 - 8*i))
		b[8+i] = byte(a.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

func compareAddr(a, b addr) int {
	if a.v6 != b.v6 {
		if !a.v6 {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo))
}

func (a addr) isMax() bool {
	if !a.v6 {
		return a.lo == 0xffffffff
	}
	return a.hi == ^uint64(0) && a.lo == ^uint64(0)
}

func (a addr) isMin() bool { return a.hi == 0 && a.lo == 0 }

// next returns a+1; the caller makes sure a is not the family's last address.
func (a addr) next() addr {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return addr{v6: a.v6, hi: a.hi + carry, lo: lo}
}

// prev returns a-1; the caller makes sure a is not zero.
func (a addr) prev() addr {
	lo, borrow := bits.Sub64(a.lo, 1, 0)
	return addr{v6: a.v6, hi: a.hi - borrow, lo: lo}
}

// IPRange is an inclusive range of addresses of one family.
type IPRange struct{ from, to addr }

// IPSet is a set of addresses: sorted, disjoint, non-adjacent ranges.
type IPSet []IPRange

var (
	allIPv4 = IPRange{addr{}, addr{lo: 0xffffffff}}
	allIPv6 = IPRange{addr{v6: true}, addr{v6: true, hi: ^uint64(0), lo: ^uint64(0)}}
)

func prefixRange(p netip.Prefix) IPRange {
	p = p.Masked()
	from := addrOf(p.Addr())
	bitsTotal := 32
	if from.v6 {
		bitsTotal = 128
	}
	host := bitsTotal - p.Bits()
	to := from
	switch {
	case host >= 64:
		to.lo = ^uint64(0)
		to.hi |= (uint64(1) << (host - 64)) - 1
		if host == 128 {
			to.hi = ^uint64(0)
		}
	case host > 0:
		to.lo |= (uint64(1) << host) - 1
	}
	if !from.v6 {
		to.hi = 0
		to.lo &= 0xffffffff
	}
	return IPRange{from, to}
}

// PrefixSet is the set of one CIDR's addresses.
func PrefixSet(p netip.Prefix) IPSet { return IPSet{prefixRange(p)} }

// AddrSet is the set of one address.
func AddrSet(a netip.Addr) IPSet { x := addrOf(a); return IPSet{{x, x}} }

// ParseCIDR reads a CIDR ("10.0.0.0/8", "fd00::/8"). A CIDR with host bits set is read as its
// network, as the API server stores it.
func ParseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return p, fmt.Errorf("CIDR %q: %w", s, err)
	}
	return p.Masked(), nil
}

func normalize(rs []IPRange) IPSet {
	if len(rs) == 0 {
		return nil
	}
	slices.SortFunc(rs, func(a, b IPRange) int { return compareAddr(a.from, b.from) })
	out := IPSet{rs[0]}
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if last.from.v6 == r.from.v6 && (compareAddr(r.from, last.to) <= 0 || (!last.to.isMax() && compareAddr(r.from, last.to.next()) == 0)) {
			if compareAddr(r.to, last.to) > 0 {
				last.to = r.to
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// Union returns s ∪ t.
func (s IPSet) Union(t IPSet) IPSet {
	if len(t) == 0 {
		return s
	}
	if len(s) == 0 {
		return t
	}
	return normalize(slices.Concat(s, t))
}

// Subtract returns s − t.
func (s IPSet) Subtract(t IPSet) IPSet {
	if len(t) == 0 || len(s) == 0 {
		return s
	}
	var out IPSet
	for _, r := range s {
		pieces := []IPRange{r}
		for _, x := range t {
			var next []IPRange
			for _, p := range pieces {
				if compareAddr(x.to, p.from) < 0 || compareAddr(x.from, p.to) > 0 {
					next = append(next, p)
					continue
				}
				if compareAddr(x.from, p.from) > 0 {
					next = append(next, IPRange{p.from, x.from.prev()})
				}
				if compareAddr(x.to, p.to) < 0 {
					next = append(next, IPRange{x.to.next(), p.to})
				}
			}
			pieces = next
		}
		out = append(out, pieces...)
	}
	return normalize(out)
}

// Intersect returns s ∩ t.
func (s IPSet) Intersect(t IPSet) IPSet {
	var out []IPRange
	for _, a := range s {
		for _, b := range t {
			lo, hi := a.from, a.to
			if compareAddr(b.from, lo) > 0 {
				lo = b.from
			}
			if compareAddr(b.to, hi) < 0 {
				hi = b.to
			}
			if lo.v6 == hi.v6 && compareAddr(lo, hi) <= 0 {
				out = append(out, IPRange{lo, hi})
			}
		}
	}
	return normalize(out)
}

// Contains reports whether a is in the set.
func (s IPSet) Contains(a netip.Addr) bool {
	x := addrOf(a)
	i, _ := slices.BinarySearchFunc(s, x, func(r IPRange, x addr) int {
		if compareAddr(r.to, x) < 0 {
			return -1
		}
		if compareAddr(r.from, x) > 0 {
			return 1
		}
		return 0
	})
	return i < len(s) && compareAddr(s[i].from, x) <= 0 && compareAddr(x, s[i].to) <= 0
}

// ContainsSet reports whether t ⊆ s.
func (s IPSet) ContainsSet(t IPSet) bool { return len(t.Subtract(s)) == 0 }

// Equal reports whether both sets hold the same addresses.
func (s IPSet) Equal(t IPSet) bool { return slices.Equal(s, t) }

// IsEmpty reports whether the set holds no address.
func (s IPSet) IsEmpty() bool { return len(s) == 0 }

// IPv4Only returns the IPv4 part of the set.
func (s IPSet) IPv4Only() IPSet { return s.Intersect(IPSet{allIPv4}) }

// String renders the set as comma-separated ranges: a CIDR when a range is exactly one,
// otherwise first-last ("0.0.0.0-9.255.255.255").
func (s IPSet) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

func (r IPRange) String() string {
	if r.from == r.to {
		return r.from.netip().String()
	}
	if p, ok := r.prefix(); ok {
		return p.String()
	}
	return r.from.netip().String() + "-" + r.to.netip().String()
}

// prefix returns the CIDR the range is exactly, if it is one.
func (r IPRange) prefix() (netip.Prefix, bool) {
	total := 32
	if r.from.v6 {
		total = 128
	}
	for b := 0; b <= total; b++ {
		p := netip.PrefixFrom(r.from.netip(), b)
		if p.Masked() != p {
			continue
		}
		if pr := prefixRange(p); pr == r {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// Prefixes splits the set into the fewest CIDRs that cover exactly its addresses.
func (s IPSet) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range s {
		from := r.from
		for {
			// The largest aligned block starting at from that stays within r.
			total := 32
			if from.v6 {
				total = 128
			}
			best := total
			for b := total - 1; b >= 0; b-- {
				p := netip.PrefixFrom(from.netip(), b)
				if p.Masked() != p {
					break
				}
				if compareAddr(prefixRange(p).to, r.to) > 0 {
					break
				}
				best = b
			}
			p := netip.PrefixFrom(from.netip(), best)
			out = append(out, p)
			end := prefixRange(p).to
			if compareAddr(end, r.to) >= 0 {
				break
			}
			from = end.next()
		}
	}
	return out
}
