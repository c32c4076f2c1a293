package traffic

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/netpol"
)

func verdicts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteText writes the report for people: unexpected flows first, then unused connections,
// then rule hits with unused rules, peers and ports marked.
func WriteText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%d flow records from %s", r.Flows, strings.Join(r.Files, ", "))
	if !r.From.IsZero() {
		fmt.Fprintf(bw, ", %s to %s", when(r.From), when(r.To))
	}
	fmt.Fprintf(bw, " (%d replies and other events skipped)\n\n", r.Skipped)

	fmt.Fprintf(bw, "Unexpected: %d flow group(s) the policies do not allow\n", len(r.Unexpected))
	for _, g := range r.Unexpected {
		via := ""
		if g.Via != "" {
			via = " via " + g.Via
		}
		fmt.Fprintf(bw, "  %s => %s %s%s: %d flow(s)%s, %s to %s, e.g. %s\n", g.Src, g.Dst, g.Port, via, g.Count, verdicts(g.Verdicts), when(g.First), when(g.Last), g.Example)
		fmt.Fprintf(bw, "    %s\n", g.Why)
	}
	fmt.Fprintf(bw, "\nAllowed but never observed: %d connection(s)\n", len(r.Unused))
	for _, c := range r.Unused {
		fmt.Fprintf(bw, "  %s => %s : %s\n", c.Src, c.Dst, c.Conns)
	}
	fmt.Fprintf(bw, "\nRule hits (flows matched per rule, peer and port; 0 marks what no flow used)\n")
	for _, h := range r.Hits {
		mark := ""
		if h.Flows == 0 {
			mark = "  <- unused"
		}
		fmt.Fprintf(bw, "  %d  %s%s\n", h.Flows, h.Rule, mark)
		for i, n := range h.Peers {
			if s := h.Rule.PeerString(h.Rule.PeerIndexAt(i)); s != "" {
				fmt.Fprintf(bw, "       %d  %s\n", n, s)
			}
		}
		for i, n := range h.Ports {
			if s := h.Rule.PortString(i); s != "" {
				fmt.Fprintf(bw, "       %d  %s\n", n, s)
			}
		}
	}
	if len(r.Unmatched) > 0 {
		fmt.Fprintf(bw, "\nPrivate addresses that match no pod or Service (treated as outside the cluster):\n")
		for _, u := range r.Unmatched {
			fmt.Fprintf(bw, "  %s: %d flow(s), e.g. %s\n", u.Addr, u.Count, u.Example)
		}
	}
	return bw.Flush()
}

// GroupJSON is one group of flows in JSON output.
type GroupJSON struct {
	Src      netpol.EndpointJSON `json:"src"`
	Dst      netpol.EndpointJSON `json:"dst"`
	Port     string              `json:"port"`
	Via      string              `json:"via,omitempty"`
	Flows    int                 `json:"flows"`
	Verdicts map[string]int      `json:"verdicts,omitempty"`
	First    *time.Time          `json:"first,omitempty"`
	Last     *time.Time          `json:"last,omitempty"`
	Example  string              `json:"example"`
	Why      string              `json:"why,omitempty"`
}

// HitsJSON is one rule's hit counts in JSON output.
type HitsJSON struct {
	Kind      string        `json:"kind"`
	Policy    string        `json:"policy"`
	Location  string        `json:"location,omitempty"`
	Rule      string        `json:"rule"`
	Flows     int           `json:"flows"`
	PeerHits  []EntryHits   `json:"peers"`
	PortHits  []EntryHits   `json:"ports"`
	Direction string        `json:"direction"`
	Action    netpol.Action `json:"action"`
}

// EntryHits counts one peer or port entry.
type EntryHits struct {
	Entry string `json:"entry"`
	Flows int    `json:"flows"`
}

func groupJSON(g *Group) GroupJSON {
	j := GroupJSON{Src: g.Src.JSON(), Dst: g.Dst.JSON(), Port: g.Port, Via: g.Via, Flows: g.Count, Example: g.Example, Why: g.Why}
	if len(g.Verdicts) > 0 {
		j.Verdicts = g.Verdicts
	}
	if !g.First.IsZero() {
		f, l := g.First, g.Last
		j.First, j.Last = &f, &l
	}
	return j
}

// WriteJSON writes the report as one JSON object.
func WriteJSON(w io.Writer, r *Report) error {
	out := struct {
		Files      []string                `json:"files"`
		Flows      int                     `json:"flows"`
		Skipped    int                     `json:"skipped"`
		Unexpected []GroupJSON             `json:"unexpected"`
		Unused     []netpol.ConnectionJSON `json:"unused"`
		Observed   []GroupJSON             `json:"observed"`
		Hits       []HitsJSON              `json:"ruleHits"`
		Unmatched  []string                `json:"unmatchedAddresses"`
		Problems   []string                `json:"problems"`
	}{Files: r.Files, Flows: r.Flows, Skipped: r.Skipped, Unexpected: []GroupJSON{}, Unused: []netpol.ConnectionJSON{},
		Observed: []GroupJSON{}, Hits: []HitsJSON{}, Unmatched: []string{}, Problems: r.Problems}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	for _, g := range r.Unexpected {
		out.Unexpected = append(out.Unexpected, groupJSON(g))
	}
	for _, g := range r.Observed {
		out.Observed = append(out.Observed, groupJSON(g))
	}
	for _, c := range r.Unused {
		out.Unused = append(out.Unused, netpol.ConnectionJSON{Src: c.Src.JSON(), Dst: c.Dst.JSON(), Allowed: c.Conns})
	}
	for _, h := range r.Hits {
		ref := h.Rule.Policy()
		j := HitsJSON{Kind: ref.Kind, Policy: strings.TrimPrefix(ref.Key(), ref.Kind+"/"), Location: ref.Origin.String(),
			Rule: h.Rule.Path(), Flows: h.Flows, Direction: h.Rule.Direction().String(), Action: h.Rule.Action,
			PeerHits: []EntryHits{}, PortHits: []EntryHits{}}
		for i, n := range h.Peers {
			j.PeerHits = append(j.PeerHits, EntryHits{Entry: h.Rule.PeerString(h.Rule.PeerIndexAt(i)), Flows: n})
		}
		for i, n := range h.Ports {
			if s := h.Rule.PortString(i); s != "" {
				j.PortHits = append(j.PortHits, EntryHits{Entry: s, Flows: n})
			}
		}
		out.Hits = append(out.Hits, j)
	}
	for _, u := range r.Unmatched {
		out.Unmatched = append(out.Unmatched, fmt.Sprintf("%s: %d flow(s), e.g. %s", u.Addr, u.Count, u.Example))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
