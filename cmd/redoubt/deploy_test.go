package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"redoubt.dev/redoubt/internal/testenv"
)

const (
	chartDir          = "../../deploy/helm/redoubt"
	renderedManifests = "../../deploy/manifests/redoubt.yaml"
)

// renderChart renders the Helm chart as `helm template redoubt deploy/helm/redoubt -n redoubt`
// would, with the given values over the chart's defaults, into one multi-document YAML stream.
func renderChart(t *testing.T, values map[string]any) string {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(ch, values,
		chartutil.ReleaseOptions{Name: "redoubt", Namespace: "redoubt", IsInstall: true, Revision: 1},
		chartutil.DefaultCapabilities.Copy())
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(rendered))
	for n, text := range rendered {
		if strings.HasPrefix(filepath.Base(n), "_") || strings.TrimSpace(text) == "" {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("# Rendered from deploy/helm/redoubt with its default values (release redoubt, namespace\n" +
		"# redoubt). Regenerate with go test ./cmd/redoubt -run TestDeployManifestsAreRendered -update.\n" +
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: redoubt\n  labels:\n" +
		"    pod-security.kubernetes.io/enforce: restricted\n")
	for _, n := range names {
		b.WriteString("---\n# Source: " + n + "\n")
		b.WriteString(strings.TrimSpace(rendered[n]) + "\n")
	}
	return b.String()
}

// The plain manifests are the chart rendered, never edited by hand.
func TestDeployManifestsAreRendered(t *testing.T) {
	got := renderChart(t, nil)
	if *update {
		if err := os.WriteFile(renderedManifests, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(renderedManifests)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/redoubt -run TestDeployManifestsAreRendered -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s is stale (go test ./cmd/redoubt -run TestDeployManifestsAreRendered -update):\n%s",
			renderedManifests, diff(string(want), got))
	}
}

// Dogfood: Redoubt's own deployment passes its own scan with nothing above low, in the default
// (SQLite, one replica) and the highly available (PostgreSQL, three replicas) configuration.
func TestDeployChartPassesItsOwnScan(t *testing.T) {
	ha := filepath.Join(t.TempDir(), "ha.yaml")
	if err := os.WriteFile(ha, []byte("replicas: 3\ndatabase:\n  existingSecret: redoubt-database\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"default":   {"scan", chartDir, "-n", "redoubt", "--fail-on", "medium"},
		"ha":        {"scan", chartDir, "-n", "redoubt", "--values", ha, "--fail-on", "medium"},
		"manifests": {"scan", renderedManifests, "--fail-on", "medium"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := redoubt(t, "", args...)
			if code != exitOK {
				t.Fatalf("redoubt %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
			}
			if !strings.Contains(out, "suppressed") {
				t.Errorf("the Secret-metadata exception should show as suppressed:\n%s", out)
			}
		})
	}
}

// The rendered manifests are valid to the real API server: every object is created, with
// strict field validation through the example's own applier.
func TestDeployManifestsCreateInRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the control plane")
	}
	c := testenv.ForTest(t)
	c.Apply(t, renderedManifests)
}
