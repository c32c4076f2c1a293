package synth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/flow"
	"redoubt.dev/redoubt/internal/netpol/traffic"
)

func load(t *testing.T, paths ...string) *inventory.Snapshot {
	t.Helper()
	s, err := manifest.Load(context.Background(), paths, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		t.Fatalf("loading: %v", p)
	}
	return s
}

func readFlows(t *testing.T, name, text string) []*flow.Result {
	t.Helper()
	res, err := flow.Read(strings.NewReader(text), name, flow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("flows: %v", res.Problems)
	}
	return []*flow.Result{res}
}

// The generated YAML, read back by the manifest loader in place of the shop's own policies,
// allows every flow it was built from, and the rules have the promised shape.
func TestGenerateShop(t *testing.T) {
	shop := "../../../examples/shop"
	a := netpol.Analyze(load(t, shop), netpol.Options{})
	res, err := flow.ReadFile(shop+"/flows/hubble.jsonl", flow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	g := Generate(a, []*flow.Result{res}, DefaultOptions)
	if !g.Verification.OK() {
		t.Fatalf("verification failed: %v", g.Verification.Denied)
	}
	if g.Used != 16 || g.Excluded != 2 {
		t.Errorf("used %d flows and left out %d; want 16 and 2 (the two the network dropped)", g.Used, g.Excluded)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, []string{"test"}, g.Policies); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{
		`name: "web-least-privilege"`,
		"# 4 flow(s) from ingress-nginx/[app.kubernetes.io/component=controller,app.kubernetes.io/name=ingress-nginx]",
		`"kubernetes.io/metadata.name": "kube-system"`,
		`"k8s-app": "kube-dns"`,
		"- {protocol: TCP, port: 53}\n        - {protocol: UDP, port: 53}",
		`cidr: "203.0.113.10/32"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("generated YAML lacks %q", want)
		}
	}
	if strings.Contains(text, "5432") && strings.Contains(text, `name: "web-least-privilege"`) {
		web := text[strings.Index(text, `name: "web-least-privilege"`):]
		if strings.Contains(web, "5432") {
			t.Errorf("web's dropped attempt on postgres was granted")
		}
	}
	// Round trip: the YAML as the manifest loader reads it.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "generated.yaml"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := load(t, filepath.Join(dir, "generated.yaml"))
	if len(gen.NetworkPolicies) != len(g.Policies) {
		t.Fatalf("read back %d policies, wrote %d", len(gen.NetworkPolicies), len(g.Policies))
	}
	b := a.WithNetworkPolicies(gen.NetworkPolicies)
	if len(b.Problems) > 0 {
		t.Fatalf("the API server would refuse the generated policies: %v", b.Problems)
	}
	m := traffic.NewMapper(b)
	for _, f := range res.Flows {
		if !usable(f) {
			continue
		}
		mf, err := m.Map(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range mf.Targets {
			if !b.Allowed(mf.Src, tg.Dst).ContainsAll(tg.Want) {
				t.Errorf("%s: %s => %s %s not allowed by the YAML read back", f.Origin, mf.Src, tg.Dst, tg.Port)
			}
		}
	}
	// What the shop's web may reach is now exactly what it was seen to use.
	web, _ := netpol.FindWorkload(b.Snapshot, "shop-web/web")
	pg, _ := netpol.FindWorkload(b.Snapshot, "shop-data/postgres")
	if c := b.Allowed(b.WorkloadEndpoint(web), b.WorkloadEndpoint(pg)); !c.IsEmpty() {
		t.Errorf("web => postgres: %s, want none", c)
	}
}

const twoApps = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: app}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 9090}]}]}
`

func TestGenerateAggregatesAddresses(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(twoApps), 0o644)
	a := netpol.Analyze(load(t, dir), netpol.Options{})
	flows := readFlows(t, "f.json", `{"src":"10.0.0.1","srcWorkload":"app/web","dst":"203.0.113.10","dstPort":443}
{"src":"10.0.0.1","srcWorkload":"app/web","dst":"203.0.113.20","dstPort":443}
{"src":"10.0.0.1","srcWorkload":"app/web","dst":"203.0.113.21","dstPort":444}
{"src":"10.0.0.1","srcWorkload":"app/web","dst":"198.51.100.1","dstPort":443}
`)
	g := Generate(a, flows, Options{IPv4Prefix: 24, IPv6Prefix: 64})
	if !g.Verification.OK() || len(g.Policies) != 1 {
		t.Fatalf("verification %v, %d policies", g.Verification.Denied, len(g.Policies))
	}
	eg := g.Policies[0].Policy.Spec.Egress
	if len(eg) != 2 || eg[0].To[0].IPBlock.CIDR != "203.0.113.0/24" || eg[1].To[0].IPBlock.CIDR != "198.51.100.0/24" {
		t.Fatalf("egress rules: %+v", eg)
	}
	if len(eg[0].Ports) != 1 || eg[0].Ports[0].Port.IntVal != 443 || *eg[0].Ports[0].EndPort != 444 {
		t.Errorf("consecutive ports should merge into 443-444: %+v", eg[0].Ports)
	}
	// Aggregation widens: the verification says what else it allows.
	if !strings.Contains(strings.Join(g.Verification.Extra, "\n"), "app/web[Deployment] => 203.0.113.0/24 : TCP 443-444 (flows seen to or from 3 address(es) in the range)") {
		t.Errorf("extra allowances not summarised: %v", g.Verification.Extra)
	}
}

// An admin policy denying observed traffic makes verification fail: generated NetworkPolicies
// cannot allow it.
func TestGenerateVerificationFails(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(twoApps+`---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-9090}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 9090}}]}]
`), 0o644)
	a := netpol.Analyze(load(t, dir), netpol.Options{})
	g := Generate(a, readFlows(t, "f.json", `{"srcWorkload":"app/web","dstWorkload":"app/api","dstPort":9090}`), DefaultOptions)
	if g.Verification.OK() || !strings.Contains(g.Verification.Denied[0], "f.json:1: app/web[Deployment] => app/api[Deployment] 9090/TCP") {
		t.Errorf("verification should fail naming the flow: %v", g.Verification.Denied)
	}
}

func TestTighten(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(twoApps+`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: app}
spec:
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: app}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}, {namespaceSelector: {matchLabels: {team: ops}}}]
    ports: [{port: http}, {port: 9443}]
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: idle, namespace: app}
spec:
  podSelector: {matchLabels: {app: idle}}
  ingress: [{from: [{podSelector: {}}]}]
`), 0o644)
	a := netpol.Analyze(load(t, dir), netpol.Options{})
	res := Tighten(a, readFlows(t, "f.json", `{"srcWorkload":"app/web","dstWorkload":"app/api","dstPort":9090}
{"srcWorkload":"app/web","dstWorkload":"app/api","dstPort":9090}`))
	if !res.Verification.OK() {
		t.Fatalf("verification: %v", res.Verification.Denied)
	}
	if len(res.Policies) != 1 || res.Policies[0].Policy.Name != "api" {
		t.Fatalf("want only api changed (idle saw no traffic and is left alone): %d policies", len(res.Policies))
	}
	in := res.Policies[0].Policy.Spec.Ingress
	if len(in) != 1 || len(in[0].From) != 1 || in[0].From[0].PodSelector == nil || len(in[0].Ports) != 1 || in[0].Ports[0].Port.StrVal != "http" {
		t.Errorf("tightened ingress: %+v", in)
	}
	var buf bytes.Buffer
	WriteYAML(&buf, nil, res.Policies)
	for _, want := range []string{
		"# removed spec.ingress[1]: no allowed flow matched it",
		"# removed spec.ingress[0].from[1]: no allowed flow came through it",
		"# removed spec.ingress[0].ports[1]: no allowed flow used it",
		"# spec.ingress[0]: 2 allowed flow(s)",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("tightened YAML lacks %q:\n%s", want, buf.String())
		}
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "NetworkPolicy app/idle: nothing to remove") {
		t.Errorf("notes: %v", res.Notes)
	}
}
