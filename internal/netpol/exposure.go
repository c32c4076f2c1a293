package netpol

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"redoubt.dev/redoubt/internal/inventory"
)

// AnyNamespaceProbe names the namespace the "any namespace" probe stands in: one that does not
// exist in the snapshot, carrying only its name label.
const AnyNamespaceProbe = "redoubt-probe-any-namespace"

// IngressController says where Ingress traffic comes from: the ingress controller's namespace
// and pod labels. When the snapshot holds workloads matching it, they are used; otherwise a
// probe pod with these labels stands for the controller.
type IngressController struct {
	Namespace string
	Labels    map[string]string
}

// DefaultIngressController is the namespace and labels of the ingress-nginx controller as its
// chart installs it.
var DefaultIngressController = IngressController{Namespace: "ingress-nginx",
	Labels: map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}}

// PeerAccess is one peer that can reach a workload, and what it may open.
type PeerAccess struct {
	Peer  Endpoint
	Conns ConnSet
}

// ExternalAccess is one way in from outside the cluster: a Service of type LoadBalancer or
// NodePort (or with external IPs), or an Ingress, and whether the policies let it through.
type ExternalAccess struct {
	// Via is "LoadBalancer Service ns/name port 443", "Ingress ns/name", ...
	Via string
	// Port is the pod port the traffic arrives on.
	Port PortProto
	// From says where the traffic comes from, as the policies see it.
	From string
	// Open is what of Port the policies allow from there.
	Open bool
}

// Exposure is what can reach one workload.
type Exposure struct {
	Workload   *inventory.Workload
	IsolatedBy []PolicyRef
	// OtherNamespaces are the snapshot's workloads in other namespaces that can reach it.
	OtherNamespaces []PeerAccess
	// AnyNamespace is what an unlabelled pod in a namespace the snapshot does not know may open:
	// the exposure to every namespace, including ones created later.
	AnyNamespace ConnSet
	// Addresses are outside addresses that can reach it, merged where the access is equal.
	Addresses []PeerAccess
	// External are the ways in from outside the cluster.
	External []ExternalAccess
	// CNIPolicies may also govern it; they are not analysed.
	CNIPolicies []string
}

// Exposures computes, for every workload, what can reach it from other namespaces, from any
// address, and from outside the cluster through Services and Ingresses.
func (a *Analysis) Exposures(ic IngressController) []Exposure {
	anyNS := a.probe(AnyNamespaceProbe, nil, nil)
	controllers := a.ingressControllers(ic)
	var out []Exposure
	for _, w := range a.Snapshot.Workloads {
		out = append(out, a.exposure(w, anyNS, controllers))
	}
	return out
}

// ingressControllers returns the endpoints Ingress traffic comes from.
func (a *Analysis) ingressControllers(ic IngressController) []Endpoint {
	var out []Endpoint
	for _, w := range a.Snapshot.Workloads {
		if w.Namespace != ic.Namespace {
			continue
		}
		match := true
		for k, v := range ic.Labels {
			if w.Template.Labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, a.WorkloadEndpoint(w))
		}
	}
	if len(out) == 0 {
		out = append(out, a.probe(ic.Namespace, nil, ic.Labels))
	}
	return out
}

// Exposure computes what can reach one workload.
func (a *Analysis) Exposure(w *inventory.Workload, ic IngressController) Exposure {
	return a.exposure(w, a.probe(AnyNamespaceProbe, nil, nil), a.ingressControllers(ic))
}

func (a *Analysis) exposure(w *inventory.Workload, anyNS Endpoint, controllers []Endpoint) Exposure {
	dst := a.WorkloadEndpoint(w)
	x := Exposure{Workload: w, IsolatedBy: a.Isolated(dst, Ingress), CNIPolicies: a.CNIPolicies(w)}
	for _, o := range a.Snapshot.Workloads {
		if o.Namespace == w.Namespace {
			continue
		}
		if c := a.Allowed(a.WorkloadEndpoint(o), dst); !c.IsEmpty() {
			x.OtherNamespaces = append(x.OtherNamespaces, PeerAccess{Peer: a.WorkloadEndpoint(o), Conns: c})
		}
	}
	x.AnyNamespace = a.Allowed(anyNS, dst)
	for _, g := range a.groupAtoms(func(at Endpoint) ConnSet { return a.Allowed(at, dst) }) {
		x.Addresses = append(x.Addresses, PeerAccess{Peer: AddressEndpoint(g.ips), Conns: g.conns})
	}
	for _, svc := range w.Services {
		how := svc.ExternalExposure()
		if how == "" {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			pp, ok := targetPort(w, sp)
			if !ok {
				continue
			}
			// Outside clients keep their address with externalTrafficPolicy Local; otherwise
			// the node's address replaces it. Either way the source is outside the pods.
			var open IPSet
			for _, g := range x.Addresses {
				if g.Conns.Contains(pp.Protocol, pp.Port) {
					open = open.Union(g.Peer.IPs)
				}
			}
			ea := ExternalAccess{Via: fmt.Sprintf("%s Service %s/%s port %d", how, svc.Namespace, svc.Name, sp.Port), Port: pp,
				From: "outside addresses", Open: len(open) > 0}
			if len(open) > 0 {
				ea.From = open.String()
			}
			x.External = append(x.External, ea)
		}
	}
	for _, ing := range w.Ingresses {
		for _, svc := range ing.Services {
			if !containsWorkload(svc.Workloads, w) {
				continue
			}
			for _, sp := range svc.Spec.Ports {
				pp, ok := targetPort(w, sp)
				if !ok {
					continue
				}
				for _, c := range controllers {
					ea := ExternalAccess{Via: fmt.Sprintf("Ingress %s/%s through Service %s port %d", ing.Namespace, ing.Name, svc.Name, sp.Port),
						Port: pp, From: "ingress controller " + controllerName(c)}
					ea.Open = a.Allowed(c, dst).Contains(pp.Protocol, pp.Port)
					x.External = append(x.External, ea)
				}
			}
		}
	}
	return x
}

func controllerName(e Endpoint) string {
	if e.Workload != nil {
		return e.String()
	}
	return fmt.Sprintf("pods %s in namespace %s", e.cls.labels, e.cls.ns.name)
}

func containsWorkload(ws []*inventory.Workload, w *inventory.Workload) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// targetPort resolves a Service port to the port the workload's pods receive it on.
func targetPort(w *inventory.Workload, sp corev1.ServicePort) (PortProto, bool) {
	proto, err := protocolOf(&sp.Protocol)
	if err != nil {
		return PortProto{}, false
	}
	if sp.TargetPort.StrVal != "" {
		for _, c := range w.Template.Spec.Containers {
			for _, p := range c.Ports {
				pproto, _ := protocolOf(&p.Protocol)
				if p.Name == sp.TargetPort.StrVal && pproto == proto {
					return PortProto{Protocol: proto, Port: p.ContainerPort}, true
				}
			}
		}
		return PortProto{}, false
	}
	port := sp.TargetPort.IntVal
	if port == 0 {
		port = sp.Port
	}
	return PortProto{Protocol: proto, Port: port}, true
}

// WriteExposures writes exposures as text: one block per workload.
func WriteExposures(w io.Writer, xs []Exposure) error {
	for _, x := range xs {
		fmt.Fprintln(w, WorkloadName(x.Workload))
		if len(x.IsolatedBy) == 0 {
			fmt.Fprintln(w, "  ingress: not isolated (no NetworkPolicy selects it)")
		} else {
			names := make([]string, len(x.IsolatedBy))
			for i, r := range x.IsolatedBy {
				names[i] = r.Namespace + "/" + r.Name
			}
			fmt.Fprintf(w, "  ingress: isolated by %s\n", strings.Join(names, ", "))
		}
		if !x.AnyNamespace.IsEmpty() {
			fmt.Fprintf(w, "  from any pod in any namespace: %s\n", x.AnyNamespace)
		}
		if len(x.OtherNamespaces) == 0 {
			fmt.Fprintln(w, "  from other namespaces: nothing")
		} else {
			fmt.Fprintf(w, "  from other namespaces (%d workloads):\n", len(x.OtherNamespaces))
			for _, p := range x.OtherNamespaces {
				fmt.Fprintf(w, "    %s : %s\n", p.Peer, p.Conns)
			}
		}
		if len(x.Addresses) == 0 {
			fmt.Fprintln(w, "  from addresses: nothing")
		} else {
			fmt.Fprintln(w, "  from addresses:")
			for _, p := range x.Addresses {
				fmt.Fprintf(w, "    %s : %s\n", p.Peer, p.Conns)
			}
		}
		for _, e := range x.External {
			state := "open"
			if !e.Open {
				state = "blocked by the policies"
			}
			fmt.Fprintf(w, "  from outside the cluster: %s -> %s from %s: %s\n", e.Via, e.Port, e.From, state)
		}
		if len(x.CNIPolicies) > 0 {
			fmt.Fprintf(w, "  warning: may also be governed by %s, which Redoubt does not analyse\n", strings.Join(x.CNIPolicies, ", "))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// ExposureJSON is one workload's exposure in JSON output.
type ExposureJSON struct {
	Workload        EndpointJSON         `json:"workload"`
	IsolatedBy      []string             `json:"isolatedBy"`
	AnyNamespace    ConnSet              `json:"anyNamespace"`
	OtherNamespaces []ConnectionJSON     `json:"otherNamespaces"`
	Addresses       []ConnectionJSON     `json:"addresses"`
	External        []ExternalAccessJSON `json:"external"`
	CNIPolicies     []string             `json:"cniPolicies,omitempty"`
}

// ExternalAccessJSON is one way in from outside, in JSON output.
type ExternalAccessJSON struct {
	Via  string `json:"via"`
	Port string `json:"port"`
	From string `json:"from"`
	Open bool   `json:"open"`
}

// WriteExposuresJSON writes exposures as {"exposures": [...]}.
func WriteExposuresJSON(w io.Writer, xs []Exposure) error {
	out := struct {
		Exposures []ExposureJSON `json:"exposures"`
	}{Exposures: []ExposureJSON{}}
	for _, x := range xs {
		dst := EndpointJSON{Namespace: x.Workload.Namespace, Kind: x.Workload.Kind, Name: x.Workload.Name}
		j := ExposureJSON{Workload: dst, IsolatedBy: []string{}, AnyNamespace: x.AnyNamespace,
			OtherNamespaces: []ConnectionJSON{}, Addresses: []ConnectionJSON{}, External: []ExternalAccessJSON{}, CNIPolicies: x.CNIPolicies}
		for _, r := range x.IsolatedBy {
			j.IsolatedBy = append(j.IsolatedBy, r.Key())
		}
		for _, p := range x.OtherNamespaces {
			j.OtherNamespaces = append(j.OtherNamespaces, ConnectionJSON{Src: p.Peer.JSON(), Dst: dst, Allowed: p.Conns})
		}
		for _, p := range x.Addresses {
			j.Addresses = append(j.Addresses, ConnectionJSON{Src: p.Peer.JSON(), Dst: dst, Allowed: p.Conns})
		}
		for _, e := range x.External {
			j.External = append(j.External, ExternalAccessJSON{Via: e.Via, Port: e.Port.String(), From: e.From, Open: e.Open})
		}
		out.Exposures = append(out.Exposures, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
