package netpol_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/netpol"
)

// load reads YAML through the real manifest loader, as `redoubt netpol` does.
func load(t testing.TB, docs ...string) *inventory.Snapshot {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "estate.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := manifest.Load(context.Background(), []string{path}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		t.Fatalf("loading test estate: %v", p)
	}
	return s
}

// deploy is a Deployment manifest: name, namespace, pod labels ("k=v,k=v") and named ports
// ("http:8080/TCP,dns:53/UDP").
func deploy(ns, name, lbls, ports string) string {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + ", namespace: " + ns + "}\n")
	b.WriteString("spec:\n  selector: {matchLabels: {workload: " + name + "}}\n  template:\n    metadata:\n      labels: {workload: " + name)
	for _, kv := range strings.Split(lbls, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			b.WriteString(", " + k + ": " + v)
		}
	}
	b.WriteString("}\n    spec:\n      containers:\n      - name: c\n        image: registry.example/app:1\n")
	if ports != "" {
		b.WriteString("        ports:\n")
		for _, p := range strings.Split(ports, ",") {
			name, rest, _ := strings.Cut(p, ":")
			num, proto, _ := strings.Cut(rest, "/")
			b.WriteString("        - {name: " + name + ", containerPort: " + num + ", protocol: " + proto + "}\n")
		}
	}
	return b.String()
}

func ns(name, lbls string) string {
	s := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
	if lbls != "" {
		s += "  labels: {"
		for i, kv := range strings.Split(lbls, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if i > 0 {
				s += ", "
			}
			s += k + ": " + v
		}
		s += "}\n"
	}
	return s
}

// allowed names endpoints as namespace/name or an address.
func allowed(t testing.TB, a *netpol.Analysis, src, dst string) string {
	t.Helper()
	s, err := a.Resolve(src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.Resolve(dst)
	if err != nil {
		t.Fatal(err)
	}
	return a.Allowed(s, d).String()
}

// base is two namespaces with a client and a server each, and a third namespace "other".
var base = []string{
	ns("prod", "env=prod"), ns("dev", "env=dev"), ns("other", ""),
	deploy("prod", "web", "app=web,tier=front", "http:8080/TCP"),
	deploy("prod", "api", "app=api,tier=back", "http:9090/TCP,metrics:9100/TCP,dns:53/UDP"),
	deploy("dev", "web", "app=web,tier=front", "http:8080/TCP"),
	deploy("other", "tool", "app=tool", ""),
}

type expect struct{ src, dst, want string }

func TestSemantics(t *testing.T) {
	cases := []struct {
		name   string
		policy string
		expect []expect
	}{
		{"no policy allows everything", "", []expect{
			{"prod/web", "prod/api", "all"}, {"dev/web", "prod/api", "all"}, {"prod/api", "8.8.8.8", "all"}, {"8.8.8.8", "prod/api", "all"},
		}},
		{"a policy with no ingress rules denies all ingress to the pods it selects", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]`, []expect{
			{"prod/web", "prod/api", "none"}, {"8.8.8.8", "prod/api", "none"},
			{"prod/api", "prod/web", "all"}, // egress untouched: isolation is per direction
			{"dev/web", "prod/web", "all"},  // pods it does not select stay open
		}},
		{"empty podSelector selects every pod of its own namespace only", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: prod}
spec:
  podSelector: {}
  policyTypes: [Ingress]`, []expect{
			{"dev/web", "prod/web", "none"}, {"dev/web", "prod/api", "none"}, {"prod/web", "dev/web", "all"},
		}},
		{"policyTypes absent and egress rules present: both directions are isolated", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - to: [{podSelector: {matchLabels: {app: api}}}]`, []expect{
			{"prod/web", "prod/api", "all"}, {"prod/web", "dev/web", "none"},
			{"prod/api", "prod/web", "none"}, // ingress is isolated too, with no ingress rule
		}},
		{"policyTypes absent and only ingress rules: egress stays open", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ingress-only, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]`, []expect{
			{"prod/api", "prod/web", "all"}, {"dev/web", "prod/web", "none"}, {"prod/web", "8.8.8.8", "all"},
		}},
		{"rules of a direction missing from policyTypes are ignored", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-type, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]`, []expect{
			{"dev/web", "prod/web", "all"}, {"prod/web", "prod/api", "none"},
		}},
		{"podSelector-only peer means the policy's namespace", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]`, []expect{
			{"prod/web", "prod/api", "all"}, {"dev/web", "prod/api", "none"},
		}},
		{"namespaceSelector-only peer means every pod of those namespaces", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {env: dev}}}]`, []expect{
			{"dev/web", "prod/api", "all"}, {"prod/web", "prod/api", "none"}, {"other/tool", "prod/api", "none"},
		}},
		{"namespaceSelector and podSelector in one peer must both match", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {env: dev}}
      podSelector: {matchLabels: {app: web}}`, []expect{
			{"dev/web", "prod/api", "all"}, {"prod/web", "prod/api", "none"},
		}},
		{"separate peers are alternatives", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {env: dev}}
    - podSelector: {matchLabels: {app: web}}`, []expect{
			{"dev/web", "prod/api", "all"}, {"prod/web", "prod/api", "all"}, {"other/tool", "prod/api", "none"},
		}},
		{"empty namespaceSelector means every namespace, but no outside address", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {}}]`, []expect{
			{"other/tool", "prod/api", "all"}, {"dev/web", "prod/api", "all"}, {"8.8.8.8", "prod/api", "none"},
		}},
		{"a rule with no from allows every source, outside addresses included", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - ports: [{port: 9090}]`, []expect{
			{"other/tool", "prod/api", "TCP 9090"}, {"8.8.8.8", "prod/api", "TCP 9090"},
		}},
		{"an empty rule allows everything", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{}]`, []expect{
			{"other/tool", "prod/api", "all"}, {"8.8.8.8", "prod/api", "all"},
		}},
		{"ipBlock with except names outside addresses, not pods", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]`, []expect{
			{"prod/web", "10.2.3.4", "all"}, {"prod/web", "10.1.2.3", "none"}, {"prod/web", "11.0.0.1", "none"},
			{"prod/web", "prod/api", "none"}, {"prod/web", "fd00::1", "none"},
		}},
		{"endPort makes a range; protocol without port means all its ports", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - ports: [{port: 9000, endPort: 9100}, {protocol: UDP}, {port: 7000, protocol: SCTP}]`, []expect{
			{"prod/web", "prod/api", "TCP 9000-9100; UDP all ports; SCTP 7000"},
		}},
		{"a named port resolves on each destination pod", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: http}]`, []expect{
			{"prod/api", "prod/web", "TCP 8080"}, {"prod/web", "prod/api", "TCP 9090"},
		}},
		{"a named port must match the protocol too", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - ports: [{port: dns, protocol: TCP}, {port: dns, protocol: UDP}]`, []expect{
			{"prod/web", "prod/api", "UDP 53"},
		}},
		{"an egress named port resolves on the destination pod, and never on an address", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: metrics}]`, []expect{
			{"prod/web", "prod/api", "TCP 9100"}, {"prod/web", "dev/web", "none"}, {"prod/web", "8.8.8.8", "none"},
		}},
		{"policies selecting the same pod add up", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b, namespace: prod}
spec:
  podSelector: {matchLabels: {tier: back}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 443}]}]`, []expect{
			{"prod/web", "prod/api", "TCP 80,443"},
		}},
		{"a connection needs the source's egress and the destination's ingress", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{ports: [{port: 80}, {port: 443}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: in, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: 443}, {port: 8443}]}]`, []expect{
			{"prod/web", "prod/api", "TCP 443"}, {"dev/web", "prod/api", "TCP 443,8443"},
		}},
		{"matchExpressions: In, NotIn, Exists, DoesNotExist", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchExpressions: [{key: tier, operator: In, values: [back]}]}
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}
      podSelector: {matchExpressions: [{key: app, operator: Exists}]}
    - namespaceSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}`, []expect{
			{"dev/web", "prod/api", "all"}, {"other/tool", "prod/api", "all"}, {"prod/web", "prod/api", "none"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := append([]string(nil), base...)
			if tc.policy != "" {
				docs = append(docs, tc.policy)
			}
			a := netpol.Analyze(load(t, docs...), netpol.Options{})
			if len(a.Problems) > 0 {
				t.Fatalf("problems: %v", a.Problems)
			}
			for _, e := range tc.expect {
				if got := allowed(t, a, e.src, e.dst); got != e.want {
					t.Errorf("%s => %s: got %q, want %q", e.src, e.dst, got, e.want)
				}
			}
		})
	}
}

// TestPolicyTypesInferredWithoutBuilder checks the analysis infers policyTypes itself for
// objects that did not come through the Builder's defaults.
func TestPolicyTypesInferredWithoutBuilder(t *testing.T) {
	s := load(t, base...)
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "raw", Namespace: "prod"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
	s.NetworkPolicies = append(s.NetworkPolicies, &inventory.NetworkPolicy{NetworkPolicy: np})
	a := netpol.Analyze(s, netpol.Options{})
	if got := allowed(t, a, "prod/api", "prod/web"); got != "none" {
		t.Errorf("ingress to a pod selected by a policy without policyTypes: got %s, want none", got)
	}
	if got := allowed(t, a, "prod/web", "8.8.8.8"); got != "all" {
		t.Errorf("egress allowed by an empty egress rule: got %s, want all", got)
	}
}

func TestAdminPolicies(t *testing.T) {
	np := `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]`
	cases := []struct {
		name   string
		docs   []string
		expect []expect
	}{
		{"Deny overrides a NetworkPolicy allow", []string{np, `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-9090}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {env: prod}}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
    ports: [{portNumber: {protocol: TCP, port: 9090}}]`}, []expect{
			{"prod/web", "prod/api", "TCP 1-9089,9091-65535; UDP all ports; SCTP all ports; other protocols"},
		}},
		{"Allow overrides a NetworkPolicy that isolates", []string{np, `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: monitoring}
spec:
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}}
  ingress:
  - action: Allow
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: other}}}]
    ports: [{namedPort: metrics}]`}, []expect{
			{"other/tool", "prod/api", "TCP 9100"}, {"dev/web", "prod/api", "none"},
		}},
		{"lower priority number wins; within a policy the first rule wins", []string{`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: late}
spec:
  priority: 20
  subject: {namespaces: {}}
  ingress:
  - {action: Allow, from: [{namespaces: {}}]}`, `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: early}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {env: prod}}}
  ingress:
  - {action: Allow, from: [{namespaces: {matchLabels: {env: dev}}}], ports: [{portNumber: {port: 80, protocol: TCP}}]}
  - {action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}]}`}, []expect{
			{"dev/web", "prod/api", "TCP 80"}, {"other/tool", "prod/api", "all"},
		}},
		{"Pass hands the decision to NetworkPolicy", []string{np, `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pass-then-deny}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress:
  - {action: Pass, from: [{namespaces: {matchLabels: {env: prod}}}]}
  - {action: Deny, from: [{namespaces: {}}]}`}, []expect{
			{"prod/web", "prod/api", "all"}, // passed, then allowed by the NetworkPolicy
			{"dev/web", "prod/api", "none"}, // denied by the admin
			{"prod/api", "prod/web", "all"}, // passed, web is not isolated, no baseline: allowed
		}},
		{"baseline applies only where no NetworkPolicy isolates the pod", []string{np, `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {action: Allow, from: [{namespaces: {matchLabels: {env: dev}}}]}
  - {action: Deny, from: [{namespaces: {}}]}`}, []expect{
			{"prod/web", "prod/api", "all"},    // the NetworkPolicy decides for api
			{"dev/web", "prod/api", "none"},    // not the baseline's allow
			{"dev/web", "prod/web", "all"},     // web: not isolated, baseline allows dev
			{"other/tool", "prod/web", "none"}, // baseline denies
			{"8.8.8.8", "prod/web", "all"},     // no baseline rule matches addresses
		}},
		{"networks covering every address match pods too", []string{`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: egress}
spec:
  priority: 3
  subject: {namespaces: {matchLabels: {env: prod}}}
  egress:
  - {action: Allow, to: [{networks: [10.0.0.0/8]}]}
  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}`}, []expect{
			{"prod/web", "10.9.9.9", "all"}, {"prod/web", "8.8.8.8", "none"}, {"prod/web", "dev/web", "none"},
			{"prod/web", "fd00::1", "all"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := netpol.Analyze(load(t, append(append([]string(nil), base...), tc.docs...)...), netpol.Options{})
			if len(a.Problems) > 0 {
				t.Fatalf("problems: %v", a.Problems)
			}
			for _, e := range tc.expect {
				if got := allowed(t, a, e.src, e.dst); got != e.want {
					t.Errorf("%s => %s: got %q, want %q", e.src, e.dst, got, e.want)
				}
			}
		})
	}
}

func TestHostNetworkPodsAreNeitherSelectedNorIsolated(t *testing.T) {
	host := `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: prod}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: registry.example/agent:1}]`
	deny := `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all, namespace: prod}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{podSelector: {}}]}]
  egress: [{to: [{podSelector: {}}]}]`
	a := netpol.Analyze(load(t, append(append([]string(nil), base...), host, deny)...), netpol.Options{})
	for _, e := range []expect{
		{"prod/agent", "dev/web", "all"},   // not isolated
		{"prod/agent", "prod/api", "none"}, // a podSelector peer does not match a host-network pod
		{"prod/web", "prod/api", "all"},
	} {
		if got := allowed(t, a, e.src, e.dst); got != e.want {
			t.Errorf("%s => %s: got %q, want %q", e.src, e.dst, got, e.want)
		}
	}
}

// Traffic from (and to) a host-network pod is the node's: an ipBlock holding the nodes'
// addresses admits it, in either direction ("you can allow traffic from a hostNetwork Pod using
// an ipBlock rule", Kubernetes documentation). The nodes' addresses come from Options.NodeCIDRs,
// else from the Nodes' status.addresses; unknown, only a block holding a whole address family
// is sure to hold them.
func TestHostNetworkTrafficIsNodeTraffic(t *testing.T) {
	host := `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: prod}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: registry.example/agent:1}]`
	policy := func(cidr, except string) string {
		ex := ""
		if except != "" {
			ex = ", except: [" + except + "]"
		}
		return `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: nodes, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{ipBlock: {cidr: ` + cidr + ex + `}}]}]
  egress: [{to: [{ipBlock: {cidr: ` + cidr + ex + `}}]}]`
	}
	node := func(name, ip string) string {
		return "apiVersion: v1\nkind: Node\nmetadata: {name: " + name + "}\nstatus:\n  addresses: [{type: InternalIP, address: " + ip + "}, {type: Hostname, address: " + name + "}]"
	}
	cases := []struct {
		name  string
		docs  []string
		opts  netpol.Options
		want  string // both prod/agent => prod/api and prod/api => prod/agent
		other string // 10.0.0.9 => prod/api, an address that is no node's
	}{
		{"0.0.0.0/0 admits a host-network pod whose node is unknown", []string{policy("0.0.0.0/0", "")}, netpol.Options{}, "all", "all"},
		{"a narrower block cannot be known to hold an unknown node", []string{policy("10.0.0.0/8", "")}, netpol.Options{}, "none", "all"},
		{"the nodes' addresses from --node-cidrs", []string{policy("10.0.0.0/24", "")},
			netpol.Options{NodeCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/28")}}, "all", "all"},
		{"a block missing some nodes does not hold the pod, which may run on any", []string{policy("10.0.0.0/29", "")},
			netpol.Options{NodeCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/28")}}, "none", "none"},
		{"the nodes' addresses from the Nodes", []string{node("n1", "192.168.1.10"), node("n2", "192.168.1.11"), policy("192.168.1.0/24", "")}, netpol.Options{}, "all", "none"},
		{"an except that holds a node", []string{node("n1", "192.168.1.10"), node("n2", "192.168.1.11"), policy("192.168.1.0/24", "192.168.1.11/32")}, netpol.Options{}, "none", "none"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := netpol.Analyze(load(t, append(append([]string(nil), base...), append([]string{host}, tc.docs...)...)...), tc.opts)
			for _, e := range []expect{
				{"prod/agent", "prod/api", tc.want},
				{"prod/api", "prod/agent", tc.want},
				{"10.0.0.9", "prod/api", tc.other},
				{"prod/web", "prod/api", "none"}, // an ipBlock never admits pods that are not on the host's network
			} {
				if got := allowed(t, a, e.src, e.dst); got != e.want {
					t.Errorf("%s => %s: got %q, want %q", e.src, e.dst, got, e.want)
				}
			}
		})
	}
}

func TestInvalidPoliciesAreRefused(t *testing.T) {
	cases := []struct{ name, spec, want string }{
		{"bad CIDR", `egress: [{to: [{ipBlock: {cidr: 10.0.0.300/8}}]}]`, `spec.egress[0].to[0].ipBlock.cidr: "10.0.0.300/8" is not a CIDR`},
		{"except outside cidr", `egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]`, `except[0]: 11.0.0.0/16 must be a strict subset of cidr 10.0.0.0/8`},
		{"except equal to cidr", `egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]`, `must be a strict subset`},
		{"port out of range", `ingress: [{ports: [{port: 70000}]}]`, `spec.ingress[0].ports[0].port: 70000 is not a port number`},
		{"endPort below port", `ingress: [{ports: [{port: 9000, endPort: 8000}]}]`, `endPort: 8000 is less than port 9000`},
		{"endPort with a named port", `ingress: [{ports: [{port: http, endPort: 8000}]}]`, `may not be set when port is named`},
		{"invalid port name", `ingress: [{ports: [{port: Not_A_Name}]}]`, `is not a valid port name`},
		{"invalid selector", `ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: In}]}}]}]`, `spec.ingress[0].from[0].podSelector`},
		{"empty peer", `ingress: [{from: [{}]}]`, `must specify a peer`},
		{"ipBlock with a selector", `ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]`, `may not specify both ipBlock and a selector`},
		{"bad protocol", `ingress: [{ports: [{port: 80, protocol: ICMP}]}]`, `protocol "ICMP"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := append(append([]string(nil), base...), `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  `+tc.spec)
			dir := t.TempDir()
			path := filepath.Join(dir, "estate.yaml")
			if err := os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := manifest.Load(context.Background(), []string{path}, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			a := netpol.Analyze(s, netpol.Options{})
			if len(a.Problems) != 1 {
				t.Fatalf("want one problem naming the policy, got %v (loader: %v)", a.Problems, s.Problems)
			}
			p := a.Problems[0]
			if !strings.Contains(p.Message, tc.want) || p.File != path || p.Line == 0 || !strings.Contains(p.Object, "prod/bad") {
				t.Errorf("problem %q does not name file, line, policy and %q", p.Error(), tc.want)
			}
			// The refused policy is left out: api stays open.
			if got := allowed(t, a, "dev/web", "prod/api"); got != "all" {
				t.Errorf("a refused policy still changed connectivity: %s", got)
			}
		})
	}
}

func TestNotes(t *testing.T) {
	docs := append(append([]string(nil), base...), `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: grpc}]}]`, `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7, namespace: dev}
spec:
  endpointSelector: {}`)
	a := netpol.Analyze(load(t, docs...), netpol.Options{})
	joined := strings.Join(a.Notes, "\n")
	for _, want := range []string{`spec.ingress[0].ports[0]: no pod it can reach defines a TCP port named "grpc"`, `CiliumNetworkPolicy dev/l7`} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	if w, _ := netpol.FindWorkload(a.Snapshot, "dev/web"); len(a.CNIPolicies(w)) != 1 {
		t.Errorf("dev/web should be marked as governed by a CNI policy")
	}
}

// A policy picking one StatefulSet replica by its pod-name label cannot be modelled per
// workload: the analysis says so.
func TestNotePodSpecificSelection(t *testing.T) {
	docs := append(append([]string(nil), base...), `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: prod}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: x}]}`, `
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: prod
  labels: {app: db, statefulset.kubernetes.io/pod-name: db-0}
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u, controller: true}]
spec: {containers: [{name: c, image: x}]}`, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: primary, namespace: prod}
spec:
  podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: db-0}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]`)
	a := netpol.Analyze(load(t, docs...), netpol.Options{})
	want := "prod/db[StatefulSet]: its pods' labels statefulset.kubernetes.io/pod-name differ from its pod template's, and policies select on them"
	if !strings.Contains(strings.Join(a.Notes, "\n"), want) {
		t.Errorf("notes lack %q: %v", want, a.Notes)
	}
}
