package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
)

// sarifLocations renders a result as SARIF and returns, per result, "check uri:line" of its
// physical location ("check -" when it has none).
func sarifLocations(t *testing.T, r *audit.Result, opts Options) map[string][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := SARIF(&buf, r, opts); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, res := range log.Runs[0].Results {
		where := "-"
		if p := res.Locations[0].PhysicalLocation; p != nil {
			where = p.ArtifactLocation.URI
			if p.Region != nil {
				where += ":" + itoa(p.Region.StartLine)
			}
		}
		out[res.RuleID] = append(out[res.RuleID], where)
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// GitHub code scanning drops results without a physical location, so every SARIF result gets
// one: its own file and line, else the manifest that puts objects in its namespace, else the
// image, the policy file, the cluster or the scanned path.
func TestSARIFEveryResultHasAPhysicalLocation(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(web, []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example/web:1.2.3}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := manifest.Load(context.Background(), []string{dir}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := audit.Run(context.Background(), snap, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := sarifLocations(t, res, Options{})
	for check, where := range got {
		for _, w := range where {
			if w == "-" {
				t.Errorf("%s: a result without a physical location", check)
			}
		}
	}
	if w := got["namespace-without-network-policy"]; len(w) != 1 || w[0] != "file://"+filepath.ToSlash(web)+":5" {
		t.Errorf("namespace-without-network-policy: located at %v, want the Deployment that puts objects in namespace shop (%s:5)", w, web)
	}

	others := []struct {
		name   string
		source inventory.Source
		f      finding.Finding
		opts   Options
		want   string
	}{
		{"an image finding names the image", inventory.Source{Kind: "images", Paths: []string{"registry.example/web:1.2.3"}},
			finding.Finding{Check: "vulnerability", Resource: finding.Resource{Kind: "Image", Name: "registry.example/web:1.2.3"},
				Location: finding.Location{Image: "registry.example/web:1.2.3"}}, Options{}, "registry.example/web%3A1.2.3"},
		{"a live object names the cluster", inventory.Source{Kind: inventory.SourceCluster, Server: "https://10.0.0.1:6443"},
			finding.Finding{Check: "apiserver-thing", Resource: finding.Resource{Kind: "Node", Name: "n1"}, Location: finding.Location{UID: "1234"}},
			Options{}, "https://10.0.0.1:6443"},
		{"a node audit names the node's filesystem", inventory.Source{Kind: inventory.SourceNode, Node: "n1"},
			finding.Finding{Check: "control-plane-not-assessable", Resource: finding.Resource{Kind: "Node", Name: "n1"}}, Options{}, "file:///"},
		{"the policy file when nothing else is known", inventory.Source{Kind: inventory.SourceCluster},
			finding.Finding{Check: "apiserver-thing", Resource: finding.Resource{Kind: "Node", Name: "n1"}},
			Options{PolicyFile: "deploy/.redoubt.yaml"}, "deploy/.redoubt.yaml"},
		{"the scanned path last", inventory.Source{Kind: "manifests", Paths: []string{"./deploy"}},
			finding.Finding{Check: "cluster-thing", Resource: finding.Resource{Kind: "ClusterRole", Name: "x"}}, Options{}, "deploy"},
	}
	for _, tc := range others {
		t.Run(tc.name, func(t *testing.T) {
			r := &audit.Result{Snapshot: &inventory.Snapshot{Source: tc.source}, Findings: []finding.Finding{tc.f}}
			if got := sarifLocations(t, r, tc.opts)[tc.f.Check]; len(got) != 1 || got[0] != tc.want {
				t.Errorf("located at %v, want %s", got, tc.want)
			}
		})
	}
}
