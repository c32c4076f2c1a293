package netcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/netpol"
)

func snapshotOf(t *testing.T, docs ...string) *inventory.Snapshot {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := manifest.Load(context.Background(), []string{p}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range s.Problems {
		t.Fatalf("test manifest: %v", pr)
	}
	return s
}

// runCheck runs one check and renders its findings as "resource: message" lines.
func runCheck(t *testing.T, id string, s *inventory.Snapshot, cfg *config.Config) []string {
	t.Helper()
	if cfg == nil {
		cfg = config.Default()
	}
	var out []string
	for _, f := range Run(s, cfg) {
		if f.Check != id {
			continue
		}
		if f.Location.File == "" || f.Location.Line == 0 || f.Remediation == "" || f.Phase != finding.PhaseDeploy {
			t.Errorf("finding %+v lacks a location, remediation or phase", f)
		}
		out = append(out, fmt.Sprintf("%s: %s", f.Resource, f.Message))
	}
	slices.Sort(out)
	return out
}

func deploy(ns, name, labels, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
  selector: {matchLabels: {%s}}
  template:
    metadata: {labels: {%s}}
    spec:
      containers: [{name: c, image: %s, ports: [{name: http, containerPort: 8080}]}]`, name, ns, labels, labels, image)
}

func policy(ns, name, spec string) string {
	return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: %s}\nspec:\n%s", name, ns, spec)
}

const denyAll = "  podSelector: {}\n  policyTypes: [Ingress, Egress]"

func TestChecks(t *testing.T) {
	app := deploy("shop", "web", "app: web", "registry.example/web:1")
	api := deploy("shop", "api", "app: api", "registry.example/api:1")
	other := deploy("tools", "shell", "app: shell", "registry.example/shell:1")
	db := deploy("data", "db", "app: db", "registry.example/library/postgres:16")
	hostDaemonSet := `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: shop}
spec:
  selector: {matchLabels: {app: node-exporter}}
  template:
    metadata: {labels: {app: node-exporter}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: registry.example/node-exporter:1}]`
	tests := []struct {
		check string
		name  string
		docs  []string
		cfg   string
		want  []string
	}{
		{"workload-ingress-not-isolated", "a workload no policy selects in a namespace with policies",
			[]string{app, api, policy("shop", "web", "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]")}, "",
			[]string{`shop/Deployment/api: namespace "shop" has NetworkPolicies, but none selects api for ingress: every pod in the cluster and every address can connect to it on every port`}},
		{"workload-ingress-not-isolated", "a namespace without policies is left to namespace-without-network-policy",
			[]string{app, api}, "", nil},
		{"workload-ingress-not-isolated", "a default deny isolates everything",
			[]string{app, api, policy("shop", "deny", denyAll)}, "", nil},
		{"workload-ingress-not-isolated", "a CNI policy in the namespace silences it",
			[]string{app, api, policy("shop", "web", "  podSelector: {matchLabels: {app: web}}"),
				"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: l7, namespace: shop}\nspec: {endpointSelector: {}}"}, "", nil},
		{"workload-egress-not-isolated", "ingress-only policies leave egress open",
			[]string{app, policy("shop", "web", "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]")}, "",
			[]string{`shop/Deployment/web: namespace "shop" has NetworkPolicies, but none selects web for egress: it may connect to every pod in the cluster and every address`}},
		{"namespace-without-default-deny", "a policy for one workload is not a default deny",
			[]string{app, policy("shop", "web", "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress, Egress]")}, "",
			[]string{`shop/Namespace/shop: no policy selects every pod of namespace "shop" for ingress or egress: workloads its policies do not name are open`}},
		{"namespace-without-default-deny", "ingress default deny only",
			[]string{app, policy("shop", "deny", "  podSelector: {}")}, "",
			[]string{`shop/Namespace/shop: no policy selects every pod of namespace "shop" for egress: workloads its policies do not name are open`}},
		{"namespace-without-default-deny", "a baseline deny counts",
			[]string{app, policy("shop", "deny", "  podSelector: {}"), `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{namespaces: {}}]}]`}, "", nil},
		{"network-policy-selects-nothing", "misspelt label",
			[]string{app, policy("shop", "typo", "  podSelector: {matchLabels: {app: wbe}}")}, "",
			[]string{`shop/NetworkPolicy/typo: its selector matches no workload of namespace shop: it protects nothing`}},
		{"network-policy-selects-nothing", "a pod in another namespace does not count",
			[]string{other, policy("shop", "shell", "  podSelector: {matchLabels: {app: shell}}")}, "",
			[]string{`shop/NetworkPolicy/shell: its selector matches no workload of namespace shop: it protects nothing`}},
		{"network-policy-selects-nothing", "a selector that matches only a hostNetwork DaemonSet",
			[]string{app, hostDaemonSet, policy("shop", "node-exporter", "  podSelector: {matchLabels: {app: node-exporter}}")}, "",
			[]string{`shop/NetworkPolicy/node-exporter: its selector matches only pods on the host's network (shop/node-exporter[DaemonSet]), which NetworkPolicy does not govern: it protects nothing`}},
		{"network-policy-peer-matches-nothing", "namespace that does not exist, and pods that do not",
			[]string{app, api, policy("shop", "web", `  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}
    - podSelector: {matchLabels: {app: apii}}
    - podSelector: {matchLabels: {app: api}}`)}, "",
			[]string{`shop/NetworkPolicy/web: spec.ingress[0].from[0] namespaceSelector {kubernetes.io/metadata.name=ingress}: matches no workload`,
				`shop/NetworkPolicy/web: spec.ingress[0].from[1] podSelector {app=apii}: matches no workload`}},
		{"network-policy-peer-matches-nothing", "a peer that matches only a hostNetwork DaemonSet",
			[]string{app, hostDaemonSet, policy("shop", "web", `  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: node-exporter}}`)}, "",
			[]string{`shop/NetworkPolicy/web: spec.ingress[0].from[0] podSelector {app=node-exporter}: matches only pods on the host's network (shop/node-exporter[DaemonSet]), which selectors never match: their traffic is the node's, which an ipBlock holding the nodes' addresses admits`}},
		{"network-policy-named-port-undefined", "a name the pods do not use",
			[]string{app, policy("shop", "web", "  podSelector: {matchLabels: {app: web}}\n  ingress: [{ports: [{port: https}, {port: http}]}]")}, "",
			[]string{`shop/NetworkPolicy/web: spec.ingress[0].ports[0]: no pod it applies to defines a TCP port named "https", so the entry allows nothing`}},
		{"network-policy-egress-anywhere", "0.0.0.0/0 on every port, and an empty rule",
			[]string{app, policy("shop", "web", `  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
  - {}
  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: 443}]`)}, "",
			[]string{`shop/NetworkPolicy/web: spec.egress[0] allows every port to every address`, `shop/NetworkPolicy/web: spec.egress[1] allows every port to every address`}},
		{"network-policy-ingress-all-namespaces", "empty namespaceSelector and a rule with no from",
			[]string{app, policy("shop", "web", `  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: monitoring}}}]
    ports: [{port: 9090}]
  - ports: [{port: http}]
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}}]`)}, "",
			[]string{`shop/NetworkPolicy/web: spec.ingress[0].from[0] namespaceSelector {} and podSelector {role=monitoring} admits pods of every namespace, on ports[0] TCP 9090`,
				`shop/NetworkPolicy/web: spec.ingress[1] has no from: it admits every pod of every namespace and every address, on ports[0] TCP http`}},
		{"sensitive-workload-cross-namespace", "an open database",
			[]string{db, other}, "",
			[]string{`data/Deployment/db: sensitive because it runs postgres (image registry.example/library/postgres:16), and any pod in any namespace can connect to it (all)`}},
		{"sensitive-workload-cross-namespace", "a database reachable from one named namespace",
			[]string{db, other, app, policy("data", "db", `  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}}]
    ports: [{port: 5432}]`)}, "",
			[]string{`data/Deployment/db: sensitive because it runs postgres (image registry.example/library/postgres:16), and 1 workload(s) of other namespaces can connect to it: shop/web[Deployment] (TCP 5432)`}},
		{"sensitive-workload-cross-namespace", "a database open only to its own namespace",
			[]string{db, other, policy("data", "db", "  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]")}, "", nil},
		{"sensitive-workload-cross-namespace", "sensitive by the policy file, and not sensitive by annotation",
			[]string{app, strings.Replace(db, "metadata: {name: db, namespace: data}", "metadata: {name: db, namespace: data, annotations: {redoubt.dev/sensitive: \"false\"}}", 1)},
			"network:\n  sensitive:\n  - {namespace: shop, labels: {app: web}}\n",
			[]string{`shop/Deployment/web: sensitive because it is selected by network.sensitive in p.yaml, and any pod in any namespace can connect to it (all)`}},
		{"network-policy-invalid", "except outside its cidr",
			[]string{app, policy("shop", "bad", "  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]")}, "",
			[]string{`shop/NetworkPolicy/bad: spec.egress[0].to[0].ipBlock.except[0]: 192.168.0.0/16 must be a strict subset of cidr 10.0.0.0/8`}},
		{"admin-network-policy-priority-tie", "two policies, one priority",
			[]string{app, `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: a}
spec: {priority: 7, subject: {namespaces: {}}, ingress: [{action: Allow, from: [{namespaces: {}}]}]}`, `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: b}
spec: {priority: 7, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}`}, "",
			[]string{`AdminNetworkPolicy/b: priority 7 is also the priority of AdminNetworkPolicy "a"`}},
	}
	for _, tc := range tests {
		t.Run(tc.check+"/"+tc.name, func(t *testing.T) {
			cfg := config.Default()
			if tc.cfg != "" {
				var err error
				if cfg, err = config.Parse("p.yaml", []byte(tc.cfg)); err != nil {
					t.Fatal(err)
				}
			}
			got := runCheck(t, tc.check, snapshotOf(t, tc.docs...), cfg)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// Every check registered here has a case above.
func TestEveryCheckTested(t *testing.T) {
	src, err := os.ReadFile("netcheck_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range registry {
		if !strings.Contains(string(src), `{"`+c.rule.ID+`"`) {
			t.Errorf("check %s has no test case", c.rule.ID)
		}
	}
	_ = netpol.Ingress
}
