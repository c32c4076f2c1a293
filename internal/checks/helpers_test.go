package checks

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
)

// snapshotOf loads manifests given as YAML documents, failing the test on any input problem.
func snapshotOf(t *testing.T, docs ...string) *inventory.Snapshot {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "m.yaml")
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
	var chk *Check
	for _, c := range All() {
		if c.Rule.ID == id {
			chk = c
		}
	}
	if chk == nil {
		t.Fatalf("no check %q", id)
	}
	if cfg == nil {
		cfg = config.Default()
	}
	c := &Context{Snapshot: s, Config: cfg, PSSLevel: cfg.PSSLevel, PSSVersion: "latest"}
	e := &emitter{rule: chk.Rule}
	chk.run(c, e)
	var out []string
	for _, f := range e.out {
		checkFinding(t, chk.Rule, f)
		out = append(out, fmt.Sprintf("%s: %s", f.Resource, f.Message))
	}
	slices.Sort(out)
	return out
}

// checkFinding asserts what every finding must carry.
func checkFinding(t *testing.T, r *finding.Rule, f finding.Finding) {
	t.Helper()
	if f.Check != r.ID || f.Severity != r.Severity || f.Phase != r.Phase || f.Remediation == "" || f.Title == "" {
		t.Errorf("finding %+v does not carry its rule's metadata", f)
	}
	if f.Location.File == "" || f.Location.Line == 0 {
		t.Errorf("finding %s has no file and line", f.Message)
	}
}

// pod returns a Pod manifest with the given spec (indented YAML under "spec:").
func pod(name, spec string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: ns\nspec:\n%s", name, indent(spec, "  "))
}

// deploymentOf wraps a pod spec in a Deployment.
func deploymentOf(name, spec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: ns
spec:
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
%[2]s`, name, indent(spec, "      "))
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got: %q\nwant: %q", got, want)
	}
}
