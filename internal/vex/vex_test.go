package vex

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// vulnFinding is a vulnerability finding as an image scan reports it.
func vulnFinding(id string, aliases []string, pkg, digest string) finding.Finding {
	return finding.Finding{Check: "image-vulnerability", Severity: finding.High,
		Resource: finding.Resource{Namespace: "shop-api", Kind: "Deployment", Name: "api", Container: "api"},
		Location: finding.Location{Image: "registry.shop.internal/shop/api:1.4", Digest: digest},
		Vulnerability: &finding.Vulnerability{ID: id, Aliases: aliases, Package: pkg, Ecosystem: "npm", InstalledVersion: "4.17.15",
			PURL: "pkg:npm/" + pkg + "@4.17.15"}}
}

// A statement about one version of a package does not cover another version.
func TestVersionedPackageURL(t *testing.T) {
	doc := `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
	"statements": [{"vulnerability": {"name": "CVE-2021-23337"}, "products": [{"@id": "pkg:npm/lodash@4.17.15"}],
	  "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}`
	other := vulnFinding("CVE-2021-23337", nil, "lodash", digestA)
	other.Vulnerability.InstalledVersion, other.Vulnerability.PURL = "4.17.19", "pkg:npm/lodash@4.17.19"
	fs, _ := suppressWith(t, doc, []finding.Finding{vulnFinding("CVE-2021-23337", nil, "lodash", digestA), other})
	if fs[0].Suppressed == nil || fs[1].Suppressed != nil {
		t.Errorf("4.17.15: %+v, 4.17.19: %+v", fs[0].Suppressed, fs[1].Suppressed)
	}
}

func suppressWith(t *testing.T, doc string, fs []finding.Finding) ([]finding.Finding, *Set) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.vex.json")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	finding.Suppress(fs, set.Exceptions, time.Now())
	return fs, set
}

func TestStatementsSuppressFindings(t *testing.T) {
	doc := `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://openvex.dev/docs/example/vex-1",
  "author": "Shop security <security@shop.example>",
  "timestamp": "2026-01-10T10:00:00Z",
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2021-23337"},
     "products": [{"@id": "pkg:oci/api@` + digestA + `?repository_url=registry.shop.internal/shop/api",
                   "subcomponents": [{"@id": "pkg:npm/lodash@4.17.15"}]}],
     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
    {"vulnerability": {"name": "GHSA-xvch-5gv4-984h", "aliases": ["CVE-2021-44906"]},
     "products": [{"hashes": {"sha-256": "` + strings.TrimPrefix(digestA, "sha256:") + `"}}],
     "status": "fixed"},
    {"vulnerability": {"name": "CVE-2020-8203"},
     "products": [{"@id": "pkg:npm/lodash"}],
     "status": "not_affected", "impact_statement": "template strings never come from users"},
    {"vulnerability": {"name": "CVE-2020-8203"},
     "timestamp": "2026-02-01T00:00:00Z",
     "products": [{"@id": "pkg:npm/lodash"}],
     "status": "affected", "action_statement": "upgrade"},
    {"vulnerability": {"name": "CVE-2099-0001"},
     "products": [{"@id": "pkg:npm/lodash"}],
     "status": "under_investigation"}
  ]
}`
	fs, set := suppressWith(t, doc, []finding.Finding{
		0: vulnFinding("CVE-2021-23337", []string{"GHSA-35jh-r3h4-6jhm"}, "lodash", digestA),
		1: vulnFinding("CVE-2021-23337", []string{"GHSA-35jh-r3h4-6jhm"}, "lodash", digestB),
		2: vulnFinding("CVE-2021-23337", nil, "lodash-es", digestA),
		3: vulnFinding("CVE-2021-44906", []string{"GHSA-xvch-5gv4-984h"}, "minimist", digestA),
		4: vulnFinding("CVE-2021-44906", []string{"GHSA-xvch-5gv4-984h"}, "minimist", digestB),
		5: vulnFinding("CVE-2020-8203", nil, "lodash", digestA),
		6: vulnFinding("CVE-2099-0001", nil, "lodash", digestA),
	})
	if len(set.Warnings) != 0 {
		t.Errorf("warnings: %v", set.Warnings)
	}
	want := []string{"not_affected/vulnerable_code_not_in_execute_path", "", "", "fixed/", "", "", ""}
	for i, f := range fs {
		got := ""
		if f.Suppressed != nil {
			got = f.Suppressed.Status + "/" + f.Suppressed.Justification
			if f.Suppressed.Source != "vex" || !strings.HasSuffix(f.Suppressed.File, "app.vex.json") || f.Suppressed.Owner != "Shop security <security@shop.example>" {
				t.Errorf("finding %d: suppression %+v", i, f.Suppressed)
			}
		}
		if got != want[i] {
			t.Errorf("finding %d (%s %s %s): suppressed %q, want %q", i, f.Vulnerability.ID, f.Vulnerability.Package, f.Location.Digest[:10], got, want[i])
		}
	}
}

// The first published OpenVEX shape: strings for the vulnerability and products.
func TestFirstSpecShape(t *testing.T) {
	doc := `{"@context": "https://openvex.dev/ns", "@id": "x", "author": "a", "role": "r",
	"timestamp": "2023-01-08T18:02:03Z", "version": "1",
	"statements": [{"vulnerability": "CVE-2021-23337", "products": ["` + digestA + `"],
	  "subcomponents": ["pkg:npm/lodash@4.17.15"], "status": "not_affected", "justification": "component_not_present"}]}`
	fs, _ := suppressWith(t, doc, []finding.Finding{vulnFinding("CVE-2021-23337", nil, "lodash", digestA), vulnFinding("CVE-2021-23337", nil, "lodash", digestB)})
	if fs[0].Suppressed == nil || fs[1].Suppressed != nil {
		t.Errorf("old shape: %+v / %+v", fs[0].Suppressed, fs[1].Suppressed)
	}
}

func TestParseRefuses(t *testing.T) {
	ok := `{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a"}],"status":"fixed"}`
	wrap := func(ctx, st string) string {
		return `{"@context":"` + ctx + `","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[` + st + `]}`
	}
	tests := []struct{ doc, want string }{
		{wrap("https://example.invalid/ns", ok), "not OpenVEX"},
		{wrap(Context, `{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a"}],"status":"maybe"}`), "status"},
		{wrap(Context, `{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a"}],"status":"not_affected"}`), "justification or an impact_statement"},
		{wrap(Context, `{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a"}],"status":"not_affected","justification":"trust_me"}`), "trust_me"},
		{wrap(Context, `{"vulnerability":{"name":"CVE-1"},"status":"fixed"}`), "no products"},
		{wrap(Context, `{"vulnerability":{},"products":[{"@id":"pkg:npm/a"}],"status":"fixed"}`), "no name"},
		{`[1,2]`, "not an OpenVEX"},
		{strings.Repeat(" ", MaxBytes+1), "allowed"},
	}
	for _, tc := range tests {
		if _, err := Parse("doc.json", []byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "doc.json") {
			t.Errorf("Parse(%.60q) = %v, want an error naming the file and %q", tc.doc, err, tc.want)
		}
	}
	// An image product without a digest cannot name one image: warned, not applied.
	set := Exceptions([]string{"d"}, []*Document{mustParse(t, wrap(Context, `{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:oci/api"}],"status":"fixed"}`))})
	if len(set.Exceptions) != 0 || len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0], "digest") {
		t.Errorf("image without digest: %+v", set)
	}
}

func mustParse(t *testing.T, doc string) *Document {
	t.Helper()
	d, err := Parse("d", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExportRoundTrip: the policy file's vulnerability exceptions, written as OpenVEX and read
// back, suppress the same findings; what OpenVEX cannot express is reported, not silently lost.
func TestExportRoundTrip(t *testing.T) {
	exs := []finding.Exception{
		{Vulnerabilities: []string{"CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"}, Images: []string{digestA}, Packages: []string{"lodash"},
			Reason: "template() is never called with user input", Owner: "team-api", Justification: "vulnerable_code_not_in_execute_path",
			Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Source: "config", File: ".redoubt.yaml", Line: 3},
		{Vulnerabilities: []string{"CVE-2021-44906"}, Packages: []string{"minimist"}, Reason: "CLI parsing only", Owner: "team-web", Source: "config", File: ".redoubt.yaml", Line: 9},
		{Vulnerabilities: []string{"CVE-2020-*"}, Reason: "r", Owner: "o", Source: "config", File: ".redoubt.yaml", Line: 14},
		{Vulnerabilities: []string{"CVE-2020-8203"}, Resources: []finding.Selector{{Namespace: "shop-web"}}, Reason: "r", Owner: "o", Source: "config", File: ".redoubt.yaml", Line: 18},
		{Vulnerabilities: []string{"CVE-2019-1"}, Images: []string{digestA}, Reason: "r", Owner: "o", Expires: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Source: "config", File: ".redoubt.yaml", Line: 22},
		{Checks: []string{"privileged-container"}, Reason: "r", Owner: "o"},
	}
	var b bytes.Buffer
	skipped, err := Export(&b, exs, ExportOptions{Author: "Shop security", Tooling: "redoubt test", Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 3 || !strings.Contains(skipped[0], ".redoubt.yaml:14: uses glob") || !strings.Contains(skipped[1], ":18: is scoped") || !strings.Contains(skipped[2], ":22: expired") {
		t.Errorf("skipped: %q", skipped)
	}
	doc, err := Parse("exported", b.Bytes())
	if err != nil {
		t.Fatalf("the exported document does not parse: %v\n%s", err, b.String())
	}
	if len(doc.Statements) != 2 || doc.Statements[0].Justification != "vulnerable_code_not_in_execute_path" ||
		!strings.Contains(doc.Statements[0].ImpactStatement, "owner team-api, until 2027-01-01") {
		t.Errorf("statements: %+v", doc.Statements)
	}
	set := Exceptions([]string{"exported"}, []*Document{doc})
	fs := []finding.Finding{
		vulnFinding("CVE-2021-23337", nil, "lodash", digestA),
		vulnFinding("CVE-2021-23337", nil, "lodash", digestB),
		vulnFinding("CVE-2021-44906", nil, "minimist", digestB),
		vulnFinding("CVE-2021-44906", nil, "lodash", digestB),
	}
	finding.Suppress(fs, set.Exceptions, time.Now())
	for i, want := range []bool{true, false, true, false} {
		if (fs[i].Suppressed != nil) != want {
			t.Errorf("finding %d (%s %s): suppressed %v, want %v", i, fs[i].Vulnerability.ID, fs[i].Vulnerability.Package, fs[i].Suppressed, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:oci/a@sha256:ab","subcomponents":[{"@id":"pkg:npm/%40s/b@1"}]}],"status":"not_affected","justification":"component_not_present"}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-1","products":["x/y:1"],"status":"fixed"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		set := Exceptions([]string{"fuzz"}, []*Document{d})
		for _, e := range set.Exceptions {
			if err := e.Validate(); err != nil {
				t.Fatalf("invalid exception from VEX: %v", err)
			}
		}
	})
}
