package traffic

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/flow"
)

func loadDir(t *testing.T, paths ...string) *inventory.Snapshot {
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

func TestShopExample(t *testing.T) {
	a := netpol.Analyze(loadDir(t, "../../../examples/shop"), netpol.Options{})
	res, err := flow.ReadFile("../../../examples/shop/flows/hubble.jsonl", flow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := Compare(a, []*flow.Result{res}, []string{"hubble.jsonl"})
	if r.Flows != 18 || r.Skipped != 1 || len(r.Problems) != 0 {
		t.Fatalf("%d flows, %d skipped, problems %v", r.Flows, r.Skipped, r.Problems)
	}
	var unexpected []string
	for _, g := range r.Unexpected {
		unexpected = append(unexpected, g.Src.String()+" => "+g.Dst.String()+" "+g.Port+": "+g.Why)
	}
	want := []string{
		"monitoring/grafana[Deployment] => shop-api/api[Deployment] 8080/TCP: ingress of shop-api/api[Deployment]: isolated by NetworkPolicy shop-api/api (../../../examples/shop/api/api.yaml:92), and no rule allows it",
		"shop-web/web[Deployment] => shop-data/postgres[StatefulSet] 5432/TCP: egress of shop-web/web[Deployment]: isolated by NetworkPolicy shop-web/default-deny (../../../examples/shop/web/web.yaml:92), NetworkPolicy shop-web/web (../../../examples/shop/web/web.yaml:101), and no rule allows it",
	}
	if strings.Join(unexpected, "\n") != strings.Join(want, "\n") {
		t.Errorf("unexpected flows:\n%s\nwant:\n%s", strings.Join(unexpected, "\n"), strings.Join(want, "\n"))
	}
	hits := map[string]*Hits{}
	for _, h := range r.Hits {
		hits[h.Rule.Policy().Name+" "+h.Rule.Path()] = h
	}
	// The ingress controller (outside the manifests, known by namespace and labels) reached web
	// four times on its named port; web resolved DNS twice over UDP and never over TCP.
	if h := hits["web spec.ingress[0]"]; h == nil || h.Flows != 4 || h.Peers[0] != 4 || h.Ports[0] != 4 {
		t.Errorf("web ingress hits: %+v", h)
	}
	if h := hits["web spec.egress[1]"]; h == nil || h.Flows != 2 || h.Ports[0] != 2 || h.Ports[1] != 0 {
		t.Errorf("web DNS egress hits: %+v", h)
	}
	if h := hits["api spec.ingress[0]"]; h == nil || h.Flows != 2 {
		t.Errorf("api ingress hits (web twice; grafana was denied and matches no peer): %+v", h)
	}
	for _, c := range r.Unused {
		if c.Src.String() == "shop-web/web[Deployment]" && c.Dst.String() == "shop-api/api[Deployment]" {
			t.Errorf("web => api was observed, yet listed as unused")
		}
	}
	found := false
	for _, c := range r.Unused {
		found = found || (c.Src.String() == "monitoring/grafana[Deployment]" && c.Dst.String() == "shop-data/postgres[StatefulSet]")
	}
	if !found {
		t.Errorf("grafana => postgres is allowed and unobserved, but not listed")
	}
}

// Live pods have addresses: flows map through them and through Service cluster IPs, with the
// Service port translated to each workload's target port; unknown private addresses are named.
func TestAddressMapping(t *testing.T) {
	dir := t.TempDir()
	manifests := `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: api-1, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 9090}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-1-abc
  namespace: shop
  labels: {app: api}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-1, uid: u1, controller: true}]
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 9090}]}]}
status: {podIP: 10.244.1.5, podIPs: [{ip: 10.244.1.5}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.244.1.6}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  selector: {app: api}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: http}]}]`
	p := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(p, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	a := netpol.Analyze(loadDir(t, p), netpol.Options{})
	flows := `{"src":"10.244.1.6","dst":"10.96.0.20","dstPort":80}
{"src":"10.244.1.6","dst":"10.244.1.5","dstPort":9090}
{"src":"10.244.9.9","dst":"10.244.1.5","dstPort":9090}
{"src":"10.244.1.6","dst":"10.96.0.20","dstPort":443}
`
	res, err := flow.Read(strings.NewReader(flows), "f.json", flow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := Compare(a, []*flow.Result{res}, []string{"f.json"})
	var observed []string
	for _, g := range r.Observed {
		observed = append(observed, g.Src.String()+" => "+g.Dst.String()+" "+g.Port+" via "+g.Via)
	}
	want := []string{
		"10.244.9.9 => shop/api-1[ReplicaSet] 9090/TCP via ",
		"shop/client[Pod] => shop/api-1[ReplicaSet] 9090/TCP via ",
		"shop/client[Pod] => shop/api-1[ReplicaSet] 9090/TCP via Service shop/api",
	}
	if strings.Join(observed, "\n") != strings.Join(want, "\n") {
		t.Errorf("observed:\n%s\nwant:\n%s", strings.Join(observed, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Unexpected) != 1 || r.Unexpected[0].Src.String() != "10.244.9.9" {
		t.Errorf("only the unknown address should be unexpected: %+v", r.Unexpected)
	}
	if len(r.Unmatched) != 1 || r.Unmatched[0].Addr.String() != "10.244.9.9" || r.Unmatched[0].Example != "f.json:3" {
		t.Errorf("unmatched private addresses: %+v", r.Unmatched)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "f.json:4: destination 10.96.0.20 is Service shop/api, which has no workload behind 443/TCP") {
		t.Errorf("a flow to a port the Service does not have: %v", r.Problems)
	}
}
