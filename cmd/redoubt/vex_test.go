package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/vex"
)

func TestVEXExportAndScanFlag(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, ".redoubt.yaml")
	os.WriteFile(policy, []byte(`exceptions:
  - vulnerability: CVE-2021-23337
    images: ["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
    packages: [lodash]
    reason: template() never sees user input
    owner: team-api
    justification: vulnerable_code_not_in_execute_path
  - vulnerability: CVE-2020-8203
    resource: {namespace: shop-web}
    reason: not reachable
    owner: team-web
`), 0o644)
	out := filepath.Join(dir, "shop.openvex.json")
	_, stderr, code := execRedoubt(t, "vex", "export", "--config", policy, "-o", out, "--author", "Shop security")
	if code != exitOK || !strings.Contains(stderr, "not exported: "+policy+":8: is scoped to Kubernetes resources") {
		t.Fatalf("vex export: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := vex.Parse(out, b)
	if err != nil || len(doc.Statements) != 1 || doc.Author != "Shop security" || doc.Statements[0].Justification != "vulnerable_code_not_in_execute_path" {
		t.Fatalf("exported: %v\n%s", err, b)
	}

	// The exported document is accepted by scan; a broken one is an input error naming it.
	if _, stderr, code := execRedoubt(t, "scan", "../../examples/shop", "--vex", out, "--format", "json"); code == exitInput {
		t.Errorf("scan --vex: exit %d %s", code, stderr)
	}
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a"}],"status":"not_affected"}]}`), 0o644)
	_, stderr, code = execRedoubt(t, "scan", "../../examples/shop", "--vex", broken)
	if code != exitInput || !strings.Contains(stderr, "broken.json") || !strings.Contains(stderr, "justification") {
		t.Errorf("scan --vex broken: exit %d %s", code, stderr)
	}
	if _, stderr, code := execRedoubt(t, "vex", "export", t.TempDir()); code != exitInput || !strings.Contains(stderr, "no policy file") {
		t.Errorf("vex export without a policy: exit %d %s", code, stderr)
	}
}
