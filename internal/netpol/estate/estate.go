// Package estate generates Kubernetes estates for testing and benchmarking network policy
// analysis: small random ones that exercise every corner of the API (for differential tests
// against a brute-force evaluator) and large, realistic, deterministic ones (for benchmarks
// against other analysers). Estates are typed objects, written as YAML on request.
package estate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	"sigs.k8s.io/yaml"
)

// Estate is a set of objects.
type Estate struct {
	Objects []runtime.Object
}

// WriteYAML writes the estate as YAML into dir: one file per namespace (and cluster.yaml for
// cluster-scoped objects), as an application repository would split it.
func (e *Estate) WriteYAML(dir string) error {
	byFile := map[string]*bytes.Buffer{}
	var order []string
	for _, o := range e.Objects {
		name := "cluster"
		if m, ok := o.(metav1.Object); ok && m.GetNamespace() != "" {
			name = m.GetNamespace()
		} else if ns, ok := o.(*corev1.Namespace); ok {
			name = ns.Name
		}
		b := byFile[name]
		if b == nil {
			b = &bytes.Buffer{}
			byFile[name] = b
			order = append(order, name)
		}
		data, err := yaml.Marshal(o)
		if err != nil {
			return fmt.Errorf("estate: %s: %w", o.GetObjectKind().GroupVersionKind().Kind, err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, k := range order {
		if err := os.WriteFile(filepath.Join(dir, k+".yaml"), byFile[k].Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// Namespace returns a Namespace object.
func Namespace(name string, lbls map[string]string) *corev1.Namespace {
	l := map[string]string{"kubernetes.io/metadata.name": name}
	for k, v := range lbls {
		l[k] = v
	}
	return &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

// Deployment returns a Deployment whose pods carry lbls plus workload=<name> and the ports.
func Deployment(ns, name string, replicas int32, lbls map[string]string, ports []corev1.ContainerPort) *appsv1.Deployment {
	l := map[string]string{"workload": name}
	for k, v := range lbls {
		l[k] = v
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"workload": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example/" + name + ":1", Ports: ports,
				}}},
			},
		},
	}
}

// Random is the shape of a random estate.
type Random struct {
	Namespaces, Workloads, Policies, AdminPolicies int
	// NamespacePrefix prefixes namespace names ("ns" when empty).
	NamespacePrefix string
	// NoHostNetwork leaves out host-network workloads (whose treatment analysers differ on).
	NoHostNetwork bool
	// IPv4Only leaves IPv6 CIDRs out of ipBlocks and networks.
	IPv4Only bool
	// Baseline adds a BaselineAdminNetworkPolicy.
	Baseline bool
}

var (
	nsKeys   = map[string][]string{"env": {"prod", "dev"}, "team": {"a", "b", "c"}}
	podKeys  = map[string][]string{"app": {"web", "api", "db"}, "tier": {"front", "back"}, "role": {"x", "y"}}
	portName = []string{"http", "metrics", "dns"}
	portNums = []int32{53, 80, 443, 5432, 8080, 9090}
	cidrs    = []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "172.16.0.0/12", "8.8.8.0/24", "::/0", "fd00::/8"}
	excepts  = map[string][]string{"0.0.0.0/0": {"10.0.0.0/8", "192.168.0.0/16"}, "10.0.0.0/8": {"10.1.0.0/16", "10.9.0.0/16"}, "10.1.0.0/16": {"10.1.2.0/24"}, "fd00::/8": {"fd00:1::/32"}}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func randomLabels(r *rand.Rand, keys map[string][]string, p float64) map[string]string {
	out := map[string]string{}
	for _, k := range sortedKeys(keys) {
		if r.Float64() < p {
			out[k] = pick(r, keys[k])
		}
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// randomSelector returns nil (absent), {} or a selector over keys, with matchExpressions at times.
func randomSelector(r *rand.Rand, keys map[string][]string, allowNil bool) *metav1.LabelSelector {
	switch n := r.IntN(10); {
	case allowNil && n < 2:
		return nil
	case n < 4:
		return &metav1.LabelSelector{}
	case n < 7:
		k := pick(r, sortedKeys(keys))
		return &metav1.LabelSelector{MatchLabels: map[string]string{k: pick(r, keys[k])}}
	default:
		k := pick(r, sortedKeys(keys))
		ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
		op := pick(r, ops)
		req := metav1.LabelSelectorRequirement{Key: k, Operator: op}
		if op == metav1.LabelSelectorOpIn || op == metav1.LabelSelectorOpNotIn {
			req.Values = []string{pick(r, keys[k])}
			if r.IntN(2) == 0 {
				req.Values = append(req.Values, pick(r, keys[k]))
			}
		}
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req}}
	}
}

func protoPtr(p corev1.Protocol) *corev1.Protocol { return &p }

func randomProtocol(r *rand.Rand) corev1.Protocol {
	return pick(r, []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP})
}

func randomPorts(r *rand.Rand) []networkingv1.NetworkPolicyPort {
	if r.IntN(3) == 0 {
		return nil
	}
	var out []networkingv1.NetworkPolicyPort
	for range 1 + r.IntN(3) {
		var p networkingv1.NetworkPolicyPort
		if r.IntN(4) > 0 {
			p.Protocol = protoPtr(randomProtocol(r))
		}
		switch r.IntN(5) {
		case 0: // protocol only: every port of it
		case 1:
			v := intstr.FromString(pick(r, portName))
			p.Port = &v
		case 2:
			v := intstr.FromInt32(pick(r, portNums))
			p.Port = &v
			end := v.IntVal + int32(r.IntN(2000))
			p.EndPort = &end
		default:
			v := intstr.FromInt32(pick(r, portNums))
			p.Port = &v
		}
		out = append(out, p)
	}
	return out
}

func randomPeers(r *rand.Rand, v4only bool) []networkingv1.NetworkPolicyPeer {
	if r.IntN(5) == 0 {
		return nil
	}
	var out []networkingv1.NetworkPolicyPeer
	for range 1 + r.IntN(2) {
		var p networkingv1.NetworkPolicyPeer
		switch r.IntN(4) {
		case 0:
			c := pick(r, cidrs)
			for v4only && strings.Contains(c, ":") {
				c = pick(r, cidrs)
			}
			p.IPBlock = &networkingv1.IPBlock{CIDR: c}
			if ex := excepts[c]; len(ex) > 0 && r.IntN(2) == 0 {
				p.IPBlock.Except = ex[:1+r.IntN(len(ex))]
			}
		case 1:
			p.PodSelector = randomSelector(r, podKeys, false)
		case 2:
			p.NamespaceSelector = randomSelector(r, nsKeys, false)
		default:
			p.PodSelector = randomSelector(r, podKeys, false)
			p.NamespaceSelector = randomSelector(r, nsKeys, false)
		}
		out = append(out, p)
	}
	return out
}

// NewRandom returns a random estate exercising every part of NetworkPolicy and the admin
// policies: selectors of every kind, {} and absent, ipBlocks with exceptions, port ranges,
// named ports resolving differently per workload, every policyTypes combination.
func NewRandom(r *rand.Rand, size Random) *Estate {
	e := &Estate{}
	var nsNames []string
	prefix := size.NamespacePrefix
	if prefix == "" {
		prefix = "ns"
	}
	for i := range size.Namespaces {
		name := fmt.Sprintf("%s%d", prefix, i)
		nsNames = append(nsNames, name)
		e.Objects = append(e.Objects, Namespace(name, randomLabels(r, nsKeys, 0.6)))
	}
	for i := range size.Workloads {
		var ports []corev1.ContainerPort
		for _, n := range portName {
			if r.IntN(2) == 0 {
				ports = append(ports, corev1.ContainerPort{Name: n, ContainerPort: pick(r, portNums), Protocol: randomProtocol(r)})
			}
		}
		d := Deployment(pick(r, nsNames), fmt.Sprintf("w%d", i), 1, randomLabels(r, podKeys, 0.6), ports)
		if r.IntN(12) == 0 && !size.NoHostNetwork {
			d.Spec.Template.Spec.HostNetwork = true
		}
		e.Objects = append(e.Objects, d)
	}
	for i := range size.Policies {
		np := &networkingv1.NetworkPolicy{
			TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("np%d", i), Namespace: pick(r, nsNames)},
		}
		if s := randomSelector(r, podKeys, false); s != nil {
			np.Spec.PodSelector = *s
		}
		switch r.IntN(5) {
		case 0:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		case 1:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		case 2:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		}
		for range r.IntN(3) {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: randomPeers(r, size.IPv4Only), Ports: randomPorts(r)})
		}
		for range r.IntN(3) {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: randomPeers(r, size.IPv4Only), Ports: randomPorts(r)})
		}
		e.Objects = append(e.Objects, np)
	}
	for i := range size.AdminPolicies {
		anp := &anpv1alpha1.AdminNetworkPolicy{
			TypeMeta:   typeMeta("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy"),
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("anp%d", i)},
			Spec:       anpv1alpha1.AdminNetworkPolicySpec{Priority: int32(r.IntN(50)), Subject: randomSubject(r)},
		}
		actions := []anpv1alpha1.AdminNetworkPolicyRuleAction{"Allow", "Deny", "Pass"}
		for range r.IntN(3) {
			anp.Spec.Ingress = append(anp.Spec.Ingress, anpv1alpha1.AdminNetworkPolicyIngressRule{
				Action: pick(r, actions), From: randomAdminIngressPeers(r), Ports: randomAdminPorts(r)})
		}
		for range r.IntN(3) {
			to := randomAdminEgressPeers(r)
			anp.Spec.Egress = append(anp.Spec.Egress, anpv1alpha1.AdminNetworkPolicyEgressRule{
				Action: pick(r, actions), To: to, Ports: withoutNamedIfNetworks(to, randomAdminPorts(r))})
		}
		e.Objects = append(e.Objects, anp)
	}
	if size.Baseline {
		banp := &anpv1alpha1.BaselineAdminNetworkPolicy{
			TypeMeta:   typeMeta("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy"),
			ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec:       anpv1alpha1.BaselineAdminNetworkPolicySpec{Subject: randomSubject(r)},
		}
		actions := []anpv1alpha1.BaselineAdminNetworkPolicyRuleAction{"Allow", "Deny"}
		for range 1 + r.IntN(3) {
			banp.Spec.Ingress = append(banp.Spec.Ingress, anpv1alpha1.BaselineAdminNetworkPolicyIngressRule{
				Action: pick(r, actions), From: randomAdminIngressPeers(r), Ports: randomAdminPorts(r)})
		}
		for range r.IntN(3) {
			var to []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer
			for _, p := range randomAdminEgressPeers(r) {
				to = append(to, anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{Namespaces: p.Namespaces, Pods: p.Pods, Networks: p.Networks})
			}
			var peers []anpv1alpha1.AdminNetworkPolicyEgressPeer
			for _, p := range to {
				peers = append(peers, anpv1alpha1.AdminNetworkPolicyEgressPeer{Networks: p.Networks})
			}
			banp.Spec.Egress = append(banp.Spec.Egress, anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{
				Action: pick(r, actions), To: to, Ports: withoutNamedIfNetworks(peers, randomAdminPorts(r))})
		}
		e.Objects = append(e.Objects, banp)
	}
	return e
}

func randomNamespacedPod(r *rand.Rand) *anpv1alpha1.NamespacedPod {
	np := &anpv1alpha1.NamespacedPod{}
	if s := randomSelector(r, nsKeys, false); s != nil {
		np.NamespaceSelector = *s
	}
	if s := randomSelector(r, podKeys, false); s != nil {
		np.PodSelector = *s
	}
	return np
}

func randomSubject(r *rand.Rand) anpv1alpha1.AdminNetworkPolicySubject {
	if r.IntN(2) == 0 {
		return anpv1alpha1.AdminNetworkPolicySubject{Namespaces: randomSelector(r, nsKeys, false)}
	}
	return anpv1alpha1.AdminNetworkPolicySubject{Pods: randomNamespacedPod(r)}
}

func randomAdminIngressPeers(r *rand.Rand) []anpv1alpha1.AdminNetworkPolicyIngressPeer {
	var out []anpv1alpha1.AdminNetworkPolicyIngressPeer
	for range 1 + r.IntN(2) {
		if r.IntN(2) == 0 {
			out = append(out, anpv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: randomSelector(r, nsKeys, false)})
		} else {
			out = append(out, anpv1alpha1.AdminNetworkPolicyIngressPeer{Pods: randomNamespacedPod(r)})
		}
	}
	return out
}

func randomAdminEgressPeers(r *rand.Rand) []anpv1alpha1.AdminNetworkPolicyEgressPeer {
	var out []anpv1alpha1.AdminNetworkPolicyEgressPeer
	for range 1 + r.IntN(2) {
		switch r.IntN(3) {
		case 0:
			out = append(out, anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: randomSelector(r, nsKeys, false)})
		case 1:
			out = append(out, anpv1alpha1.AdminNetworkPolicyEgressPeer{Pods: randomNamespacedPod(r)})
		default:
			var nets []anpv1alpha1.CIDR
			for range 1 + r.IntN(2) {
				nets = append(nets, anpv1alpha1.CIDR(pick(r, cidrs)))
			}
			out = append(out, anpv1alpha1.AdminNetworkPolicyEgressPeer{Networks: nets})
		}
	}
	return out
}

func randomAdminPorts(r *rand.Rand) *[]anpv1alpha1.AdminNetworkPolicyPort {
	if r.IntN(3) == 0 {
		return nil
	}
	var out []anpv1alpha1.AdminNetworkPolicyPort
	for range 1 + r.IntN(2) {
		switch r.IntN(3) {
		case 0:
			out = append(out, anpv1alpha1.AdminNetworkPolicyPort{PortNumber: &anpv1alpha1.Port{Protocol: randomProtocol(r), Port: pick(r, portNums)}})
		case 1:
			from := pick(r, portNums)
			out = append(out, anpv1alpha1.AdminNetworkPolicyPort{PortRange: &anpv1alpha1.PortRange{Protocol: randomProtocol(r), Start: from, End: from + 1 + int32(r.IntN(1000))}})
		default:
			n := pick(r, portName)
			out = append(out, anpv1alpha1.AdminNetworkPolicyPort{NamedPort: &n})
		}
	}
	return &out
}

// withoutNamedIfNetworks drops named ports from rules with networks peers, which the CRD's
// validation refuses.
func withoutNamedIfNetworks(peers []anpv1alpha1.AdminNetworkPolicyEgressPeer, ports *[]anpv1alpha1.AdminNetworkPolicyPort) *[]anpv1alpha1.AdminNetworkPolicyPort {
	if ports == nil {
		return nil
	}
	nets := false
	for _, p := range peers {
		nets = nets || len(p.Networks) > 0
	}
	if !nets {
		return ports
	}
	var out []anpv1alpha1.AdminNetworkPolicyPort
	for _, p := range *ports {
		if p.NamedPort == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}

// Bench is the shape of a benchmark estate.
type Bench struct {
	Namespaces, Workloads, Policies int
	// Replicas is the number of pods per workload; when Pods is set they are written as Pod
	// objects (owned through a ReplicaSet, as a live cluster has them).
	Replicas int32
	Pods     bool
}

// DefaultBench is the estate the benchmark names: 5,000 pods in 1,000 workloads
// across 50 namespaces, with 1,000 policies.
var DefaultBench = Bench{Namespaces: 50, Workloads: 1000, Policies: 1000, Replicas: 5, Pods: true}

// NewBench returns a deterministic, realistic estate: every namespace denies by default and
// allows DNS; the other policies let each workload accept traffic from a few named clients in
// its own and other namespaces on named and numbered ports, and reach a few services and
// outside ranges.
func NewBench(b Bench) *Estate {
	r := rand.New(rand.NewPCG(uint64(b.Namespaces), uint64(b.Workloads)))
	e := &Estate{}
	type wl struct {
		ns, name, tier string
	}
	var nss []string
	for i := range b.Namespaces {
		name := fmt.Sprintf("ns-%02d", i)
		nss = append(nss, name)
		e.Objects = append(e.Objects, Namespace(name, map[string]string{
			"team": fmt.Sprintf("team-%d", i%10), "env": []string{"prod", "staging"}[i%2]}))
	}
	tiers := []string{"front", "back", "data"}
	var wls []wl
	byNS := map[string][]wl{}
	for i := range b.Workloads {
		ns := nss[i%len(nss)]
		w := wl{ns: ns, name: fmt.Sprintf("app-%04d", i), tier: tiers[i%3]}
		wls = append(wls, w)
		byNS[ns] = append(byNS[ns], w)
		ports := []corev1.ContainerPort{
			{Name: "http", ContainerPort: int32(8000 + i%7*10), Protocol: corev1.ProtocolTCP},
			{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
		}
		if w.tier == "data" {
			ports = append(ports, corev1.ContainerPort{Name: "db", ContainerPort: 5432, Protocol: corev1.ProtocolTCP})
		}
		d := Deployment(ns, w.name, b.Replicas, map[string]string{"app": w.name, "tier": w.tier, "component": fmt.Sprintf("c%d", i%5)}, ports)
		e.Objects = append(e.Objects, d)
		if b.Pods {
			rsName := w.name + "-5d8f7c9b6"
			ctrl := true
			rs := &appsv1.ReplicaSet{
				TypeMeta: typeMeta("apps/v1", "ReplicaSet"),
				ObjectMeta: metav1.ObjectMeta{Name: rsName, Namespace: ns, Labels: d.Spec.Template.Labels,
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: w.name, UID: uidFor(w.name), Controller: &ctrl}}},
				Spec: appsv1.ReplicaSetSpec{Replicas: &b.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template},
			}
			e.Objects = append(e.Objects, rs)
			for k := range b.Replicas {
				pod := &corev1.Pod{
					TypeMeta: typeMeta("v1", "Pod"),
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", rsName, k), Namespace: ns, Labels: d.Spec.Template.Labels,
						OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rsName, UID: uidFor(rsName), Controller: &ctrl}}},
					Spec: d.Spec.Template.Spec,
				}
				e.Objects = append(e.Objects, pod)
			}
		}
	}
	np := func(ns, name string, sel metav1.LabelSelector, types []networkingv1.PolicyType) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{TypeMeta: typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: types}}
	}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	count := 0
	for _, ns := range nss {
		if count+2 > b.Policies {
			break
		}
		e.Objects = append(e.Objects, np(ns, "default-deny", metav1.LabelSelector{}, both))
		dns := np(ns, "allow-dns", metav1.LabelSelector{}, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress})
		p53 := intstr.FromInt32(53)
		dns.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
				PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: protoPtr(corev1.ProtocolUDP), Port: &p53}, {Protocol: protoPtr(corev1.ProtocolTCP), Port: &p53}},
		}}
		e.Objects = append(e.Objects, dns)
		count += 2
	}
	http := intstr.FromString("http")
	metrics := intstr.FromString("metrics")
	for i := 0; count < b.Policies; i++ {
		w := wls[i%len(wls)]
		sel := metav1.LabelSelector{MatchLabels: map[string]string{"app": w.name}}
		p := np(w.ns, fmt.Sprintf("%s-%d", w.name, i/len(wls)), sel, both)
		// Ingress: a client in the same namespace, clients in another team's namespaces, and
		// monitoring from anywhere on the metrics port.
		peerNS := nss[r.IntN(len(nss))]
		client := byNS[w.ns][r.IntN(len(byNS[w.ns]))]
		p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{
			{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": client.name}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &http}}},
			{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("team-%d", r.IntN(10))}},
				PodSelector:       &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front", "back"}}}},
			}}, Ports: []networkingv1.NetworkPolicyPort{{Port: &http}}},
			{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": peerNS}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &metrics}}},
		}
		// Egress: a service in another namespace, and an outside range.
		target := wls[r.IntN(len(wls))]
		from := intstr.FromInt32(8000)
		end := int32(8080)
		cidr := fmt.Sprintf("10.%d.0.0/16", r.IntN(32))
		p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{
			{To: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": target.ns}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": target.name}},
			}}, Ports: []networkingv1.NetworkPolicyPort{{Port: &from, EndPort: &end}}},
			{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: []string{strings.Replace(cidr, ".0.0/16", ".1.0/24", 1)}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptrInt(443)}}},
		}
		e.Objects = append(e.Objects, p)
		count++
	}
	return e
}

func ptrInt(v int32) *intstr.IntOrString { x := intstr.FromInt32(v); return &x }

// uidFor derives a stable UID from a name.
func uidFor(name string) k8stypes.UID { return k8stypes.UID("uid-" + name) }
