package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WriteYAML writes the policies as a multi-document YAML stream, each rule under a comment
// that names the flows justifying it (or what tightening removed).
func WriteYAML(w io.Writer, header []string, ps []*Policy) error {
	bw := bufio.NewWriter(w)
	for _, h := range header {
		comment(bw, "", h)
	}
	for _, p := range ps {
		fmt.Fprintln(bw, "---")
		for _, h := range p.Header {
			comment(bw, "", h)
		}
		writePolicy(bw, p)
	}
	return bw.Flush()
}

func comment(w *bufio.Writer, indent, text string) {
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "%s# %s\n", indent, line)
	}
}

// q quotes a string for YAML: JSON's double-quoted form is valid YAML.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeMap(w *bufio.Writer, indent, key string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "%s%s:\n", indent, key)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s  %s: %s\n", indent, q(k), q(m[k]))
	}
}

// writeSelector writes a label selector under key; an empty one as {}.
func writeSelector(w *bufio.Writer, indent, key string, s *metav1.LabelSelector) {
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		fmt.Fprintf(w, "%s%s: {}\n", indent, key)
		return
	}
	fmt.Fprintf(w, "%s%s:\n", indent, key)
	writeMap(w, indent+"  ", "matchLabels", s.MatchLabels)
	if len(s.MatchExpressions) > 0 {
		fmt.Fprintf(w, "%s  matchExpressions:\n", indent)
		for _, e := range s.MatchExpressions {
			fmt.Fprintf(w, "%s    - key: %s\n%s      operator: %s\n", indent, q(e.Key), indent, e.Operator)
			if len(e.Values) > 0 {
				vals := make([]string, len(e.Values))
				for i, v := range e.Values {
					vals[i] = q(v)
				}
				fmt.Fprintf(w, "%s      values: [%s]\n", indent, strings.Join(vals, ", "))
			}
		}
	}
}

func writePeers(w *bufio.Writer, indent, key string, peers []networkingv1.NetworkPolicyPeer) {
	if len(peers) == 0 {
		return
	}
	fmt.Fprintf(w, "%s%s:\n", indent, key)
	for _, p := range peers {
		var b strings.Builder
		bw := bufio.NewWriter(&b)
		inner := indent + "    "
		if p.NamespaceSelector != nil {
			writeSelector(bw, inner, "namespaceSelector", p.NamespaceSelector)
		}
		if p.PodSelector != nil {
			writeSelector(bw, inner, "podSelector", p.PodSelector)
		}
		if ib := p.IPBlock; ib != nil {
			fmt.Fprintf(bw, "%sipBlock:\n%s  cidr: %s\n", inner, inner, q(ib.CIDR))
			if len(ib.Except) > 0 {
				ex := make([]string, len(ib.Except))
				for i, e := range ib.Except {
					ex[i] = q(e)
				}
				fmt.Fprintf(bw, "%s  except: [%s]\n", inner, strings.Join(ex, ", "))
			}
		}
		bw.Flush()
		// The peer's first line carries the list dash.
		w.WriteString(indent + "  - " + strings.TrimPrefix(b.String(), inner))
	}
}

func writePorts(w *bufio.Writer, indent string, ports []networkingv1.NetworkPolicyPort) {
	if len(ports) == 0 {
		return
	}
	fmt.Fprintf(w, "%sports:\n", indent)
	for _, p := range ports {
		var parts []string
		if p.Protocol != nil {
			parts = append(parts, "protocol: "+string(*p.Protocol))
		}
		if p.Port != nil {
			if p.Port.StrVal != "" {
				parts = append(parts, "port: "+q(p.Port.StrVal))
			} else {
				parts = append(parts, fmt.Sprintf("port: %d", p.Port.IntVal))
			}
		}
		if p.EndPort != nil {
			parts = append(parts, fmt.Sprintf("endPort: %d", *p.EndPort))
		}
		fmt.Fprintf(w, "%s  - {%s}\n", indent, strings.Join(parts, ", "))
	}
}

func writePolicy(w *bufio.Writer, p *Policy) {
	np := p.Policy
	fmt.Fprintf(w, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %s\n  namespace: %s\n", q(np.Name), q(np.Namespace))
	writeMap(w, "  ", "labels", np.Labels)
	writeMap(w, "  ", "annotations", np.Annotations)
	fmt.Fprintln(w, "spec:")
	writeSelector(w, "  ", "podSelector", &np.Spec.PodSelector)
	types := make([]string, len(np.Spec.PolicyTypes))
	for i, t := range np.Spec.PolicyTypes {
		types[i] = string(t)
	}
	fmt.Fprintf(w, "  policyTypes: [%s]\n", strings.Join(types, ", "))
	for _, d := range []string{"ingress", "egress"} {
		n := len(np.Spec.Ingress)
		if d == "egress" {
			n = len(np.Spec.Egress)
		}
		removed := p.RuleComments[d+"-removed"]
		if n == 0 {
			for _, c := range removed {
				comment(w, "  ", c)
			}
			if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyType(strings.ToUpper(d[:1])+d[1:])) {
				fmt.Fprintf(w, "  %s: []\n", d)
			}
			continue
		}
		fmt.Fprintf(w, "  %s:\n", d)
		for _, c := range removed {
			comment(w, "    ", c)
		}
		for i := range n {
			for _, c := range p.RuleComments[fmt.Sprintf("%s[%d]", d, i)] {
				comment(w, "    ", c)
			}
			if d == "ingress" {
				r := np.Spec.Ingress[i]
				if len(r.From) == 0 && len(r.Ports) == 0 {
					fmt.Fprintln(w, "    - {}")
					continue
				}
				writeRule(w, "from", r.From, r.Ports)
			} else {
				r := np.Spec.Egress[i]
				if len(r.To) == 0 && len(r.Ports) == 0 {
					fmt.Fprintln(w, "    - {}")
					continue
				}
				writeRule(w, "to", r.To, r.Ports)
			}
		}
	}
}

// writeRule writes one rule as a list item: its peers, then its ports.
func writeRule(w *bufio.Writer, key string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) {
	var b strings.Builder
	bw := bufio.NewWriter(&b)
	writePeers(bw, "      ", key, peers)
	writePorts(bw, "      ", ports)
	bw.Flush()
	text := b.String()
	// The first line of the item carries the list dash.
	text = "    - " + strings.TrimPrefix(text, "      ")
	w.WriteString(text)
}
