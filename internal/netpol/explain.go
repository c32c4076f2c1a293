package netpol

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// PeerString describes the rule's peer with this index.
func (r *Rule) PeerString(i int) string {
	for _, p := range r.peers {
		if p.index == i {
			return fmt.Sprintf("%s[%d] %s", r.dir.peersField(), i, p.desc)
		}
	}
	return ""
}

// PortString describes the rule's port entry with this index.
func (r *Rule) PortString(i int) string {
	for _, pe := range r.ports {
		if pe.index == i {
			return fmt.Sprintf("ports[%d] %s", i, pe)
		}
	}
	return ""
}

// describe renders what of the rule matched: its peers and port entries.
func (s Step) describe() string {
	var parts []string
	if s.Rule.allPeers {
		parts = append(parts, "every "+map[Direction]string{Ingress: "source", Egress: "destination"}[s.Rule.dir])
	}
	for _, i := range s.Peers {
		parts = append(parts, s.Rule.PeerString(i))
	}
	if s.Rule.allPorts {
		parts = append(parts, "all ports")
	}
	for _, h := range s.Ports {
		parts = append(parts, s.Rule.PortString(h.Index))
	}
	return strings.Join(parts, "; ")
}

// explainLines writes one direction of an explanation.
func writeVerdict(w io.Writer, v Verdict, subject Endpoint, port *PortProto) {
	head := "egress from " + subject.String()
	if v.Direction == Ingress {
		head = "ingress to " + subject.String()
	}
	result := v.Allowed.String()
	if port != nil {
		result = portVerdict(v.Allowed, *port)
	}
	fmt.Fprintf(w, "%s: %s\n", head, result)
	if !v.Applies {
		what := "addresses outside the cluster's pods have no policies"
		if subject.HostNetwork() {
			what = "host-network pods are not selected by network policies"
		}
		fmt.Fprintf(w, "  nothing is enforced here: %s\n", what)
		return
	}
	if len(v.IsolatedBy) == 0 {
		fmt.Fprintf(w, "  not isolated: no NetworkPolicy selects it for %s\n", v.Direction)
	} else {
		refs := make([]string, len(v.IsolatedBy))
		for i, r := range v.IsolatedBy {
			refs[i] = r.String()
		}
		fmt.Fprintf(w, "  isolated by %s\n", strings.Join(refs, ", "))
	}
	for _, s := range v.Steps {
		if port != nil && !s.Matched.Contains(port.Protocol, port.Port) {
			continue
		}
		effect := strings.ToLower(string(s.Rule.Action))
		decided := s.Decided.String()
		if port != nil {
			decided = port.String()
			if !s.Decided.Contains(port.Protocol, port.Port) {
				decided += " already decided by a rule of higher precedence"
			}
		} else if !s.Decided.Equal(s.Matched) {
			decided += fmt.Sprintf(" (of %s; the rest was decided by rules of higher precedence)", s.Matched)
		}
		fmt.Fprintf(w, "  %-5s %s: %s => %s\n", effect, s.Rule, s.describe(), decided)
	}
	if !v.Default.IsEmpty() && (port == nil || v.Default.Contains(port.Protocol, port.Port)) {
		what := v.Default.String()
		if port != nil {
			what = port.String()
		}
		fmt.Fprintf(w, "  allow by default (no rule decided it): %s\n", what)
	}
	if len(v.IsolatedBy) > 0 {
		if port != nil && !v.Allowed.Contains(port.Protocol, port.Port) {
			fmt.Fprintf(w, "  deny  %s: isolated and no rule allows it\n", port)
		} else if port == nil && !v.Allowed.IsAll() {
			fmt.Fprintf(w, "  deny  everything else\n")
		}
	}
}

func portVerdict(c ConnSet, p PortProto) string {
	if c.Contains(p.Protocol, p.Port) {
		return p.String() + " allowed"
	}
	return p.String() + " denied"
}

// WriteExplanation writes why connections from Src to Dst are allowed or denied, naming every
// policy and rule on both sides; with port set, for that port only.
func WriteExplanation(w io.Writer, ex Explanation, port *PortProto) error {
	result := ex.Allowed.String()
	if port != nil {
		result = portVerdict(ex.Allowed, *port)
	}
	if _, err := fmt.Fprintf(w, "%s => %s: %s\n\n", ex.Src, ex.Dst, result); err != nil {
		return err
	}
	writeVerdict(w, ex.Egress, ex.Src, port)
	fmt.Fprintln(w)
	writeVerdict(w, ex.Ingress, ex.Dst, port)
	_, err := fmt.Fprintln(w)
	return err
}

// StepJSON is one rule's part in a verdict, for JSON output.
type StepJSON struct {
	Policy   string   `json:"policy"`
	Kind     string   `json:"kind"`
	Location string   `json:"location,omitempty"`
	Rule     string   `json:"rule"`
	Name     string   `json:"name,omitempty"`
	Action   string   `json:"action"`
	Peers    []string `json:"peers"`
	Ports    []string `json:"ports"`
	Matched  ConnSet  `json:"matched"`
	Decided  ConnSet  `json:"decided"`
}

// VerdictJSON is one direction of an explanation, for JSON output.
type VerdictJSON struct {
	Enforced   bool       `json:"enforced"`
	IsolatedBy []string   `json:"isolatedBy"`
	Steps      []StepJSON `json:"rules"`
	Default    ConnSet    `json:"allowedByDefault"`
	Allowed    ConnSet    `json:"allowed"`
}

// ExplanationJSON is an explanation for JSON output.
type ExplanationJSON struct {
	Src     EndpointJSON `json:"src"`
	Dst     EndpointJSON `json:"dst"`
	Allowed ConnSet      `json:"allowed"`
	Port    string       `json:"port,omitempty"`
	// PortAllowed answers for Port when one was asked about.
	PortAllowed *bool       `json:"portAllowed,omitempty"`
	Egress      VerdictJSON `json:"egress"`
	Ingress     VerdictJSON `json:"ingress"`
}

func verdictJSON(v Verdict) VerdictJSON {
	out := VerdictJSON{Enforced: v.Applies, IsolatedBy: []string{}, Steps: []StepJSON{}, Default: v.Default, Allowed: v.Allowed}
	for _, r := range v.IsolatedBy {
		out.IsolatedBy = append(out.IsolatedBy, r.Key())
	}
	for _, s := range v.Steps {
		ref := s.Rule.policy.ref
		sj := StepJSON{Policy: strings.TrimPrefix(ref.Key(), ref.Kind+"/"), Kind: ref.Kind, Location: ref.Origin.String(),
			Rule: s.Rule.Path(), Name: s.Rule.Name, Action: string(s.Rule.Action), Matched: s.Matched, Decided: s.Decided,
			Peers: []string{}, Ports: []string{}}
		for _, i := range s.Peers {
			sj.Peers = append(sj.Peers, s.Rule.PeerString(i))
		}
		for _, h := range s.Ports {
			sj.Ports = append(sj.Ports, s.Rule.PortString(h.Index))
		}
		out.Steps = append(out.Steps, sj)
	}
	return out
}

// WriteExplanationsJSON writes explanations as a JSON array.
func WriteExplanationsJSON(w io.Writer, exs []Explanation, port *PortProto) error {
	out := make([]ExplanationJSON, 0, len(exs))
	for _, ex := range exs {
		j := ExplanationJSON{Src: ex.Src.JSON(), Dst: ex.Dst.JSON(), Allowed: ex.Allowed,
			Egress: verdictJSON(ex.Egress), Ingress: verdictJSON(ex.Ingress)}
		if port != nil {
			ok := ex.Allowed.Contains(port.Protocol, port.Port)
			j.Port, j.PortAllowed = port.String(), &ok
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ExplainAll explains src to dst, splitting addresses into the parts policies treat alike.
func (a *Analysis) ExplainAll(src, dst Endpoint) []Explanation {
	srcs, dsts := []Endpoint{src}, []Endpoint{dst}
	if !src.IsWorkload() {
		srcs = nil
		for _, part := range a.SplitAddresses(src.IPs) {
			srcs = append(srcs, AddressEndpoint(part))
		}
	}
	if !dst.IsWorkload() {
		dsts = nil
		for _, part := range a.SplitAddresses(dst.IPs) {
			dsts = append(dsts, AddressEndpoint(part))
		}
	}
	var out []Explanation
	for _, s := range srcs {
		for _, d := range dsts {
			out = append(out, a.Explain(s, d))
		}
	}
	return out
}

// DenyReason says why the verdict does not allow all of want, naming the deciding rule or the
// isolating policies; "" when it allows all of it.
func (v Verdict) DenyReason(want ConnSet) string {
	if v.Allowed.ContainsAll(want) {
		return ""
	}
	for _, s := range v.Steps {
		if s.Rule.Action == Deny && !s.Decided.Intersect(want).IsEmpty() {
			return "denied by " + s.Rule.String()
		}
	}
	if len(v.IsolatedBy) > 0 {
		refs := make([]string, len(v.IsolatedBy))
		for i, r := range v.IsolatedBy {
			refs[i] = r.String()
		}
		passed := ""
		for _, s := range v.Steps {
			if s.Rule.Action == Pass && !s.Decided.Intersect(want).IsEmpty() {
				passed = "passed on by " + s.Rule.String() + ", then "
				break
			}
		}
		return passed + "isolated by " + strings.Join(refs, ", ") + ", and no rule allows it"
	}
	return "denied"
}
