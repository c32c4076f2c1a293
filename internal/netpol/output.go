package netpol

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats `netpol list` writes.
var ListFormats = []string{"table", "json", "dot"}

// WriteConnections writes connections in one of ListFormats.
func WriteConnections(w io.Writer, format string, cs []Connection) error {
	switch format {
	case "table", "txt":
		return WriteText(w, cs)
	case "json":
		return WriteJSON(w, cs)
	case "dot":
		return WriteDot(w, cs)
	}
	return fmt.Errorf("format %q: want %s", format, strings.Join(ListFormats, ", "))
}

// WriteText writes one line per connection: "ns/web[Deployment] => ns/api[Deployment] : TCP 8080".
func WriteText(w io.Writer, cs []Connection) error {
	bw := bufio.NewWriter(w)
	for _, c := range cs {
		fmt.Fprintf(bw, "%s => %s : %s\n", c.Src, c.Dst, c.Conns)
	}
	return bw.Flush()
}

// EndpointJSON is an endpoint as JSON output names it: a workload, or addresses.
type EndpointJSON struct {
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	IP        string `json:"ip,omitempty"`
}

// JSON renders the endpoint for JSON output.
func (e Endpoint) JSON() EndpointJSON {
	if e.Workload != nil {
		return EndpointJSON{Namespace: e.Workload.Namespace, Kind: e.Workload.Kind, Name: e.Workload.Name}
	}
	return EndpointJSON{IP: e.IPs.String()}
}

// ProtocolPortsJSON is one protocol's allowed ports; Ports is absent for "other" protocols.
type ProtocolPortsJSON struct {
	Protocol string     `json:"protocol"`
	Ports    [][2]int32 `json:"ports,omitempty"`
}

// MarshalJSON renders "all", or a list of protocols with port ranges as [from, to] pairs;
// protocols other than TCP, UDP and SCTP appear as {"protocol": "other"}.
func (c ConnSet) MarshalJSON() ([]byte, error) {
	if c.IsAll() {
		return []byte(`"all"`), nil
	}
	out := []ProtocolPortsJSON{}
	for p := range numProtocols {
		if len(c.ports[p]) == 0 {
			continue
		}
		pp := ProtocolPortsJSON{Protocol: p.String()}
		for _, r := range c.ports[p] {
			pp.Ports = append(pp.Ports, [2]int32{r.From, r.To})
		}
		out = append(out, pp)
	}
	if c.Other {
		out = append(out, ProtocolPortsJSON{Protocol: "other"})
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *ConnSet) UnmarshalJSON(b []byte) error {
	var all string
	if json.Unmarshal(b, &all) == nil {
		if all != "all" {
			return fmt.Errorf("allowed %q: want \"all\" or a list of protocols", all)
		}
		*c = AllConns()
		return nil
	}
	var list []ProtocolPortsJSON
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	var out ConnSet
	for _, pp := range list {
		if pp.Protocol == "other" {
			out.Other = true
			continue
		}
		p, err := ParseProtocol(pp.Protocol)
		if err != nil {
			return err
		}
		for _, r := range pp.Ports {
			out = out.Union(PortConns(p, r[0], r[1]))
		}
	}
	*c = out
	return nil
}

// ConnectionJSON is one connection in JSON output.
type ConnectionJSON struct {
	Src     EndpointJSON `json:"src"`
	Dst     EndpointJSON `json:"dst"`
	Allowed ConnSet      `json:"allowed"`
}

// WriteJSON writes {"connections": [...]}.
func WriteJSON(w io.Writer, cs []Connection) error {
	out := struct {
		Connections []ConnectionJSON `json:"connections"`
	}{Connections: make([]ConnectionJSON, 0, len(cs))}
	for _, c := range cs {
		out.Connections = append(out.Connections, ConnectionJSON{Src: c.Src.JSON(), Dst: c.Dst.JSON(), Allowed: c.Conns})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteDot draws the connections as a Graphviz digraph: workloads boxed by namespace,
// addresses as ellipses, edges labelled with what they allow.
func WriteDot(w io.Writer, cs []Connection) error {
	bw := bufio.NewWriter(w)
	ids := map[string]string{}
	byNS := map[string][]string{}
	var addrs []string
	id := func(e Endpoint) string {
		name := e.String()
		if v, ok := ids[name]; ok {
			return v
		}
		v := fmt.Sprintf("n%d", len(ids))
		ids[name] = v
		if e.Workload != nil {
			byNS[e.Workload.Namespace] = append(byNS[e.Workload.Namespace], name)
		} else {
			addrs = append(addrs, name)
		}
		return v
	}
	type edge struct{ from, to, label string }
	var edges []edge
	for _, c := range cs {
		edges = append(edges, edge{id(c.Src), id(c.Dst), c.Conns.String()})
	}
	fmt.Fprintln(bw, "digraph connectivity {")
	fmt.Fprintln(bw, "  rankdir=LR;")
	fmt.Fprintln(bw, `  node [shape=box, fontname="Helvetica"]; edge [fontname="Helvetica", fontsize=10];`)
	nss := make([]string, 0, len(byNS))
	for ns := range byNS {
		nss = append(nss, ns)
	}
	slices.Sort(nss)
	for i, ns := range nss {
		fmt.Fprintf(bw, "  subgraph cluster_%d {\n    label=%q;\n", i, ns)
		for _, name := range byNS[ns] {
			short := strings.TrimPrefix(name, ns+"/")
			fmt.Fprintf(bw, "    %s [label=%q];\n", ids[name], short)
		}
		fmt.Fprintln(bw, "  }")
	}
	for _, a := range addrs {
		fmt.Fprintf(bw, "  %s [label=%q, shape=ellipse, style=dashed];\n", ids[a], strings.ReplaceAll(a, ",", "\n"))
	}
	for _, e := range edges {
		fmt.Fprintf(bw, "  %s -> %s [label=%q];\n", e.from, e.to, e.label)
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}
