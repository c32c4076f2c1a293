package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The netpol commands on the example, against golden files (go test ./cmd/redoubt -update
// rewrites them; review the diff).
func TestNetpolExampleGolden(t *testing.T) {
	flows := example + "/flows/hubble.jsonl"
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"list.txt", []string{"netpol", "list", example}, 0},
		{"list.json", []string{"netpol", "list", example, "--format", "json"}, 0},
		{"list.dot", []string{"netpol", "list", example, "--format", "dot"}, 0},
		{"explain.txt", []string{"netpol", "explain", "shop-web/web", "shop-api/api", example}, 0},
		{"explain-port.txt", []string{"netpol", "explain", "shop-web/web", "shop-data/postgres", "--port", "5432/TCP", example}, 0},
		{"explain.json", []string{"netpol", "explain", "0.0.0.0/0", "shop-web/web", "--format", "json", example}, 0},
		{"exposure.txt", []string{"netpol", "exposure", example}, 0},
		{"exposure.json", []string{"netpol", "exposure", example, "--format", "json"}, 0},
		{"traffic.txt", []string{"netpol", "traffic", "--flows", flows, example}, 0},
		{"traffic.json", []string{"netpol", "traffic", "--flows", flows, example, "--format", "json"}, 0},
		{"generate.yaml", []string{"netpol", "generate", "--flows", flows, example}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := redoubt(t, "", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, errOut)
			}
			golden(t, "netpol-"+tc.name, out)
			if tc.name == "generate.yaml" {
				golden(t, "netpol-generate.stderr", errOut)
			}
		})
	}
}

// diff shows exactly the connections a change adds and removes.
func TestNetpolDiff(t *testing.T) {
	dir := t.TempDir()
	for _, f := range exampleFiles(t) {
		rel, _ := filepath.Rel(example, f)
		copyFile(t, f, filepath.Join(dir, rel))
	}
	api := filepath.Join(dir, "api", "api.yaml")
	data, _ := os.ReadFile(api)
	changed := strings.Replace(string(data), `              kubernetes.io/metadata.name: shop-web
      ports:
        - port: 8080`, `              kubernetes.io/metadata.name: shop-web
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: monitoring
      ports:
        - port: 8080`, 1)
	if changed == string(data) {
		t.Fatal("the example's api policy changed shape; update this test")
	}
	os.WriteFile(api, []byte(changed), 0o644)
	// The web policy loses its DNS rule.
	web := filepath.Join(dir, "web", "web.yaml")
	data, _ = os.ReadFile(web)
	os.WriteFile(web, []byte(strings.Replace(string(data), "        - port: 53\n          protocol: TCP\n", "", 1)), 0o644)
	old := t.TempDir()
	for _, f := range exampleFiles(t) {
		rel, _ := filepath.Rel(example, f)
		copyFile(t, f, filepath.Join(old, rel))
	}
	code, out, errOut := redoubt(t, "", "netpol", "diff", old, dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "+ monitoring/grafana[Deployment] => shop-api/api[Deployment] : TCP 8080\n" +
		"+ monitoring/log-shipper[Deployment] => shop-api/api[Deployment] : TCP 8080\n"
	if out != want {
		t.Errorf("diff:\n%s\nwant:\n%s", out, want)
	}
	code, out, _ = redoubt(t, "", "netpol", "diff", old, old)
	if code != 0 || out != "no change in connectivity\n" {
		t.Errorf("no change: exit %d, %q", code, out)
	}
}

func TestNetpolUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"netpol", "list", example, "--format", "xml"}, `--format "xml": want table, json, dot`},
		{[]string{"netpol", "explain", "shop-web/web", "nope/nothing", example}, `DST "nope/nothing": no such workload`},
		{[]string{"netpol", "explain", "web", "api", example, "--port", "99999"}, `--port: port "99999"`},
		{[]string{"netpol", "explain", "10.0.0.1", "8.8.8.8", example}, "both addresses"},
		{[]string{"netpol", "traffic", example}, "--flows FILE is required"},
		{[]string{"netpol", "traffic", "--flows", "nope.json", example}, "flows nope.json"},
		{[]string{"netpol", "list", example, "--pod-cidr", "10.0.0.0/99"}, `--pod-cidr "10.0.0.0/99": not a CIDR`},
		{[]string{"netpol", "diff", example, example, "-f", example}, "-f/--filename does not apply"},
		{[]string{"netpol", "list", example, "--node-cidrs", "10.0.0.1,nodes"}, `--node-cidrs "nodes": not a CIDR or an address`},
	}
	for _, tc := range cases {
		code, _, errOut := redoubt(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// Policies the API server would refuse are input errors: reported with file and line, exit 2,
// and everything else is still analysed.
func TestNetpolInvalidPolicy(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: app}
spec:
  podSelector: {}
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]
`), 0o644)
	code, out, errOut := redoubt(t, "", "netpol", "list", dir)
	if code != 2 || !strings.Contains(errOut, "m.yaml:10: NetworkPolicy app/bad: spec.egress[0].to[0].ipBlock.except[0]: 11.0.0.0/16 must be a strict subset of cidr 10.0.0.0/8") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "app/web[Deployment] => 0.0.0.0/0,::/0 : all") {
		t.Errorf("the rest should still be listed:\n%s", out)
	}
}
