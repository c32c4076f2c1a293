package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/extract"
	"redoubt.dev/redoubt/internal/vuln"
)

// CycloneDXSchemaEnv names the directory of the CycloneDX JSON schemas (the res/schema
// directory of the npm package @cyclonedx/cyclonedx-library); .ci/run installs it.
const CycloneDXSchemaEnv = "REDOUBT_CYCLONEDX_SCHEMA_DIR"

// report is an image report with a package of every type, a vulnerability and layers.
func report() *image.Report {
	d := &extract.Distro{ID: "debian", VersionID: "12"}
	rep := &image.Report{Ref: "registry.example/shop/web:1.0", Digest: "sha256:" + strings.Repeat("ab", 32), Platform: "linux/amd64", Distro: d,
		Layers: []image.Layer{{Index: 0, DiffID: "sha256:" + strings.Repeat("01", 32), CreatedBy: "ADD base.tar /"},
			{Index: 1, DiffID: "sha256:" + strings.Repeat("02", 32), CreatedBy: "RUN npm ci"}}}
	for _, p := range []extract.Package{
		{Name: "libssl3", Version: "3.0.17-1~deb12u2", Type: extract.TypeDeb, Source: "openssl", SourceVersion: "3.0.17-1~deb12u2", Arch: "amd64", Path: "var/lib/dpkg/status"},
		{Name: "lodash", Version: "4.17.15", Type: extract.TypeNPM, Path: "srv/node_modules/lodash/package.json"},
		{Name: "@babel/core", Version: "7.0.0", Type: extract.TypeNPM, Path: "srv/node_modules/@babel/core/package.json"},
		{Name: "stdlib", Version: "v1.26.8", Type: extract.TypeGo, Path: "usr/local/bin/app"},
		{Name: "org.apache.logging.log4j:log4j-core", Version: "2.19.0", Type: extract.TypeMaven, Path: "usr/share/java/log4j-core.jar"},
		{Name: "urllib3", Version: "1.26.12", Type: extract.TypePyPI, Path: "usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO"},
		{Name: "smallvec", Version: "1.6.0", Type: extract.TypeCargo, Path: "usr/local/bin/rustapp"},
		{Name: "rack", Version: "2.2.22", Type: extract.TypeGem, Path: "usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec"},
	} {
		layer := 0
		if p.Type == extract.TypeNPM {
			layer = 1
		}
		rep.Packages = append(rep.Packages, image.Package{Package: p, Ecosystem: image.Ecosystem(p.Type, d), PURL: image.PURL(&p, d),
			Layer: layer, LayerID: rep.Layers[layer].DiffID, CreatedBy: rep.Layers[layer].CreatedBy})
	}
	rep.Vulnerabilities = []image.Vulnerability{
		{Package: 1, Match: vuln.Match{ID: "CVE-2021-23337", Aliases: []string{"GHSA-35jh-r3h4-6jhm"}, Summary: "Command Injection in lodash",
			Severity: finding.High, CVSS: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", Fixed: "4.17.21"}},
		{Package: 0, Match: vuln.Match{ID: "CVE-2025-9230", Aliases: []string{"DEBIAN-CVE-2025-9230"}, Severity: finding.Medium, Fixed: "3.0.17-1~deb12u3"}},
	}
	return rep
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestCycloneDX(t *testing.T) {
	var buf bytes.Buffer
	if err := CycloneDX(&buf, report(), Options{ToolVersion: "test", Now: now}); err != nil {
		t.Fatal(err)
	}
	var bom map[string]any
	if err := json.Unmarshal(buf.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	comps := bom["components"].([]any)
	if len(comps) != 9 { // the OS and eight packages
		t.Errorf("%d components", len(comps))
	}
	refs := map[string]bool{}
	for _, c := range comps {
		refs[c.(map[string]any)["bom-ref"].(string)] = true
	}
	for _, v := range bom["vulnerabilities"].([]any) {
		for _, a := range v.(map[string]any)["affects"].([]any) {
			if !refs[a.(map[string]any)["ref"].(string)] {
				t.Errorf("vulnerability affects unknown ref %v", a)
			}
		}
	}
	// The same scan at the same moment gives the same document.
	var again bytes.Buffer
	CycloneDX(&again, report(), Options{ToolVersion: "test", Now: now})
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("output is not deterministic")
	}

	dir := os.Getenv(CycloneDXSchemaEnv)
	if dir == "" {
		t.Skipf("%s is not set: install @cyclonedx/cyclonedx-library (as .ci/run does) to validate against the CycloneDX 1.6 schema", CycloneDXSchemaEnv)
	}
	c := jsonschema.NewCompiler()
	for file, id := range map[string]string{
		"bom-1.6.SNAPSHOT.schema.json":  "http://cyclonedx.org/schema/bom-1.6.schema.json",
		"spdx.SNAPSHOT.schema.json":     "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
		"jsf-0.82.SNAPSHOT.schema.json": "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the BOM does not validate against CycloneDX 1.6: %v", err)
	}
}

func TestSPDX(t *testing.T) {
	var buf bytes.Buffer
	if err := SPDX(&buf, report(), Options{ToolVersion: "test", Now: now}); err != nil {
		t.Fatal(err)
	}
	var doc spdxDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.CreationInfo.Created != "2026-11-25T12:00:00Z" ||
		!strings.HasPrefix(doc.DocumentNamespace, "https://") {
		t.Errorf("document header %+v", doc)
	}
	ids := map[string]bool{}
	valid := func(id string) bool {
		return strings.HasPrefix(id, "SPDXRef-") && strings.Trim(strings.TrimPrefix(id, "SPDXRef-"), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == ""
	}
	for _, p := range doc.Packages {
		if ids[p.SPDXID] || !valid(p.SPDXID) {
			t.Errorf("SPDXID %q is a duplicate or malformed", p.SPDXID)
		}
		ids[p.SPDXID] = true
	}
	for _, r := range doc.Relationships {
		if r.Element != "SPDXRef-DOCUMENT" && !ids[r.Element] || !ids[r.Related] {
			t.Errorf("relationship %+v names an unknown element", r)
		}
	}
	if len(doc.Packages) != 10 { // image, OS, eight packages
		t.Errorf("%d packages", len(doc.Packages))
	}
	if !strings.Contains(buf.String(), `"referenceLocator": "pkg:npm/%40babel/core@7.0.0"`) {
		t.Error("scoped npm purl missing")
	}
}
