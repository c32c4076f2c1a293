package flow

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// hubbleRecord is one line of `hubble observe -o json`: a GetFlowsResponse (the flow under
// "flow", or another event), or a bare Flow.
type hubbleRecord struct {
	Flow *hubbleFlow `json:"flow"`
	hubbleFlow
	NodeStatus json.RawMessage `json:"node_status"`
	LostEvents json.RawMessage `json:"lost_events"`
}

type hubbleFlow struct {
	Time    string `json:"time"`
	Verdict string `json:"verdict"`
	IP      *struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	} `json:"IP"`
	L4 *struct {
		TCP    *hubblePorts    `json:"TCP"`
		UDP    *hubblePorts    `json:"UDP"`
		SCTP   *hubblePorts    `json:"SCTP"`
		ICMPv4 json.RawMessage `json:"ICMPv4"`
		ICMPv6 json.RawMessage `json:"ICMPv6"`
	} `json:"l4"`
	Source      *hubbleEndpoint `json:"source"`
	Destination *hubbleEndpoint `json:"destination"`
	IsReply     *bool           `json:"is_reply"`
	Reply       bool            `json:"reply"`
}

type hubblePorts struct {
	SourcePort      int64 `json:"source_port"`
	DestinationPort int64 `json:"destination_port"`
}

type hubbleEndpoint struct {
	Namespace string   `json:"namespace"`
	PodName   string   `json:"pod_name"`
	Labels    []string `json:"labels"`
	Workloads []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"workloads"`
}

func (r *reader) hubble(line int, text []byte) error {
	var rec hubbleRecord
	if err := json.Unmarshal(text, &rec); err != nil {
		r.problem(line, "not a Hubble flow: %s", cleanJSONError(err))
		return nil
	}
	hf := rec.Flow
	if hf == nil {
		if rec.NodeStatus != nil || rec.LostEvents != nil || (rec.IP == nil && rec.L4 == nil) {
			r.res.Skipped++
			return nil
		}
		hf = &rec.hubbleFlow
	}
	// Replies are the return half of a connection counted when it was opened.
	if (hf.IsReply != nil && *hf.IsReply) || (hf.IsReply == nil && hf.Reply) {
		r.res.Skipped++
		return nil
	}
	f, err := hf.flow()
	if err != nil {
		r.problem(line, "%v", err)
		return nil
	}
	f.Origin = fmt.Sprintf("%s:%d", r.name, line)
	return r.add(f)
}

func (hf *hubbleFlow) flow() (Flow, error) {
	var f Flow
	if hf.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, hf.Time)
		if err != nil {
			return f, fmt.Errorf("time %q: not RFC 3339", hf.Time)
		}
		f.Time = t
	}
	f.Verdict = hf.Verdict
	if hf.IP != nil {
		for _, x := range []struct {
			s  string
			to *netip.Addr
		}{{hf.IP.Source, &f.Src.IP}, {hf.IP.Destination, &f.Dst.IP}} {
			if x.s == "" {
				continue
			}
			a, err := netip.ParseAddr(x.s)
			if err != nil {
				return f, fmt.Errorf("IP %q: not an address", x.s)
			}
			*x.to = a.Unmap()
		}
	}
	f.Src = hf.Source.endpoint(f.Src)
	f.Dst = hf.Destination.endpoint(f.Dst)
	if !f.Src.IP.IsValid() && f.Src.Workload == "" && f.Src.Pod == "" {
		return f, fmt.Errorf("no source address or pod")
	}
	if !f.Dst.IP.IsValid() && f.Dst.Workload == "" && f.Dst.Pod == "" {
		return f, fmt.Errorf("no destination address or pod")
	}
	if hf.L4 == nil {
		return f, fmt.Errorf("no l4 section: not a TCP, UDP, SCTP or ICMP flow")
	}
	var ports *hubblePorts
	switch {
	case hf.L4.TCP != nil:
		f.Protocol, ports = "TCP", hf.L4.TCP
	case hf.L4.UDP != nil:
		f.Protocol, ports = "UDP", hf.L4.UDP
	case hf.L4.SCTP != nil:
		f.Protocol, ports = "SCTP", hf.L4.SCTP
	case hf.L4.ICMPv4 != nil:
		f.Protocol = "ICMP"
	case hf.L4.ICMPv6 != nil:
		f.Protocol = "ICMPv6"
	default:
		return f, fmt.Errorf("l4 names no protocol Redoubt knows")
	}
	if ports != nil {
		if ports.DestinationPort < 1 || ports.DestinationPort > 65535 || ports.SourcePort < 0 || ports.SourcePort > 65535 {
			return f, fmt.Errorf("ports %d -> %d: out of range", ports.SourcePort, ports.DestinationPort)
		}
		f.SrcPort, f.DstPort = int32(ports.SourcePort), int32(ports.DestinationPort)
	}
	return f, nil
}

func (he *hubbleEndpoint) endpoint(e Endpoint) Endpoint {
	if he == nil {
		return e
	}
	e.Namespace, e.Pod = he.Namespace, he.PodName
	for _, w := range he.Workloads {
		if w.Name != "" {
			e.Workload, e.Kind = w.Name, w.Kind
			break
		}
	}
	for _, l := range he.Labels {
		source, kv, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		switch source {
		case "reserved":
			if e.Reserved == "" {
				e.Reserved = k
			}
		case "k8s":
			if strings.HasPrefix(k, "io.kubernetes.") || strings.HasPrefix(k, "io.cilium.") {
				continue
			}
			if e.Labels == nil {
				e.Labels = map[string]string{}
			}
			e.Labels[k] = v
		}
	}
	return e
}
