package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
)

// appArchive writes the test application image (real Debian, npm and Go packages) as a docker
// archive and returns it with a vulnerability database of real data.
func appArchive(t *testing.T) (archive, db string) {
	t.Helper()
	ctx := context.Background()
	app, err := fixture.AppImage(ctx)
	fixture.Need(t, err)
	cache, err := fixture.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	db, err = fixture.VulnDB(ctx, cache)
	fixture.Need(t, err)
	archive = filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(archive, name.MustParseReference("example.test/app:1.0").(name.Tag), app.Image); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REDOUBT_CACHE_DIR", t.TempDir())
	return archive, db
}

type imageScanJSON struct {
	Findings []struct {
		Check    string `json:"check"`
		Severity string `json:"severity"`
		Resource struct{ Kind, Name, Namespace, Container string }
		Location struct {
			Image, Digest, LayerDiffID, CreatedBy string
			Layer                                 *int
		}
		Vulnerability *struct {
			ID, Package, FixedVersion string
			Fixable                   bool
			PURL                      string
		}
	} `json:"findings"`
	Images []image.Report `json:"images"`
}

func TestImageScan(t *testing.T) {
	archive, db := appArchive(t)
	ref := "docker-archive:" + archive
	code, out, errOut := redoubt(t, "", "image", "scan", ref, "--db", db, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc imageScanJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Images) != 1 || len(doc.Images[0].Layers) != 5 {
		t.Fatalf("images %+v", doc.Images)
	}
	img := doc.Images[0]
	i := slices.IndexFunc(img.Packages, func(p image.Package) bool { return p.Name == "lodash" })
	if i < 0 || img.Packages[i].Layer != 2 || img.Packages[i].LayerID != img.Layers[2].DiffID ||
		!strings.HasPrefix(img.Packages[i].CreatedBy, "RUN npm install") {
		t.Fatalf("lodash package %+v", img.Packages)
	}
	vulns, unfixed := 0, 0
	for _, f := range doc.Findings {
		if f.Resource.Kind != "Image" || f.Resource.Name != ref {
			t.Errorf("finding about %+v", f.Resource)
		}
		if f.Check == "image-vulnerability" {
			vulns++
			if !f.Vulnerability.Fixable {
				unfixed++
			}
			if f.Location.Layer == nil || f.Location.LayerDiffID == "" || f.Vulnerability.PURL == "" {
				t.Errorf("vulnerability finding without layer or purl: %+v", f)
			}
		}
	}
	if vulns != len(img.Vulnerabilities) || vulns == 0 {
		t.Errorf("%d vulnerability findings, %d vulnerabilities", vulns, len(img.Vulnerabilities))
	}

	// Trivy's flags: --fail-on (exit 1), --severity (filter), --ignore-unfixed.
	if code, _, _ := redoubt(t, "", "image", "scan", ref, "--db", db, "--fail-on", "high", "--format", "json"); code != 1 {
		t.Errorf("--fail-on high: exit %d, want 1", code)
	}
	code, out, _ = redoubt(t, "", "image", "scan", ref, "--db", db, "--severity", "critical,high", "--format", "json")
	var filtered imageScanJSON
	if err := json.Unmarshal([]byte(out), &filtered); err != nil || code != 0 {
		t.Fatalf("--severity: exit %d, %v", code, err)
	}
	if len(filtered.Findings) == 0 {
		t.Error("--severity critical,high left nothing")
	}
	for _, f := range filtered.Findings {
		if f.Severity != "critical" && f.Severity != "high" {
			t.Errorf("--severity critical,high kept a %s finding", f.Severity)
		}
	}
	_, out, _ = redoubt(t, "", "image", "scan", ref, "--db", db, "--ignore-unfixed", "--format", "json")
	var fixedOnly imageScanJSON
	json.Unmarshal([]byte(out), &fixedOnly)
	n := 0
	for _, f := range fixedOnly.Findings {
		if f.Vulnerability != nil {
			n++
			if !f.Vulnerability.Fixable {
				t.Errorf("--ignore-unfixed kept %s", f.Vulnerability.ID)
			}
		}
	}
	if n != vulns-unfixed {
		t.Errorf("--ignore-unfixed: %d findings, want %d", n, vulns-unfixed)
	}

	// A reference that cannot be read is an input error naming it; the others are still scanned.
	code, out, errOut = redoubt(t, "", "image", "scan", "docker-archive:"+filepath.Join(t.TempDir(), "missing.tar"), ref, "--db", db)
	if code != 2 || !strings.Contains(errOut, "missing.tar") || !strings.Contains(out, "example.test") && !strings.Contains(out, "app.tar") {
		t.Errorf("missing archive: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	// Without a database, the scan says how to get one and still reports components.
	code, out, errOut = redoubt(t, "", "image", "scan", ref, "--db", t.TempDir(), "--format", "json")
	if code != 0 || !strings.Contains(errOut, "redoubt db update") || !strings.Contains(out, "image-has-network-tool") {
		t.Errorf("no database: exit %d\nstderr %s", code, errOut)
	}
}

func TestImageSBOM(t *testing.T) {
	archive, db := appArchive(t)
	ref := "docker-archive:" + archive
	code, out, errOut := redoubt(t, "", "image", "scan", ref, "--db", db, "--format", "cyclonedx")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var cdx struct {
		BOMFormat, SpecVersion, SerialNumber string
		Metadata                             struct{ Component struct{ Type, Name string } }
		Components                           []struct {
			Type, Name, Version string
			PURL                string `json:"purl"`
			Properties          []struct{ Name, Value string }
		}
		Vulnerabilities []struct {
			ID      string
			Affects []struct{ Ref string }
		}
	}
	if err := json.Unmarshal([]byte(out), &cdx); err != nil {
		t.Fatal(err)
	}
	if cdx.BOMFormat != "CycloneDX" || cdx.SpecVersion != "1.6" || !strings.HasPrefix(cdx.SerialNumber, "urn:uuid:") ||
		cdx.Metadata.Component.Type != "container" {
		t.Errorf("CycloneDX header %+v", cdx)
	}
	found := false
	for _, c := range cdx.Components {
		if c.PURL == "pkg:npm/lodash@4.17.15" {
			found = slices.ContainsFunc(c.Properties, func(p struct{ Name, Value string }) bool {
				return p.Name == "redoubt:layer:index" && p.Value == "2"
			})
		}
		if c.Type != "operating-system" && c.PURL == "" {
			t.Errorf("component %s without purl", c.Name)
		}
	}
	if !found || len(cdx.Vulnerabilities) == 0 {
		t.Errorf("lodash with its layer found: %v; %d vulnerabilities", found, len(cdx.Vulnerabilities))
	}

	code, out, errOut = redoubt(t, "", "image", "scan", ref, "--format", "spdx", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var spdx struct {
		SPDXVersion, DataLicense, DocumentNamespace string
		Packages                                    []struct {
			SPDXID, Name, VersionInfo string
			ExternalRefs              []struct{ ReferenceType, ReferenceLocator string }
		}
		Relationships []struct{ SpdxElementID, RelationshipType, RelatedSpdxElement string }
	}
	if err := json.Unmarshal([]byte(out), &spdx); err != nil {
		t.Fatal(err)
	}
	if spdx.SPDXVersion != "SPDX-2.3" || spdx.DataLicense != "CC0-1.0" || spdx.DocumentNamespace == "" {
		t.Errorf("SPDX header %+v", spdx)
	}
	ids := map[string]bool{}
	purls := 0
	for _, p := range spdx.Packages {
		if ids[p.SPDXID] {
			t.Errorf("duplicate SPDXID %s", p.SPDXID)
		}
		ids[p.SPDXID] = true
		for _, r := range p.ExternalRefs {
			if r.ReferenceType == "purl" && strings.HasPrefix(r.ReferenceLocator, "pkg:") {
				purls++
			}
		}
	}
	if purls < 20 || len(spdx.Relationships) < purls {
		t.Errorf("%d packages with purls, %d relationships", purls, len(spdx.Relationships))
	}
	if code, _, errOut := redoubt(t, "", "image", "scan", ref, ref, "--format", "spdx"); code != 2 || !strings.Contains(errOut, "one image") {
		t.Errorf("two images as one SBOM: exit %d %s", code, errOut)
	}
}

// TestScanExampleImages: `redoubt scan` attaches an image's findings to each workload
// container that runs it, with the image, digest and layer.
func TestScanExampleImages(t *testing.T) {
	ctx := context.Background()
	app, err := fixture.AppImage(ctx)
	fixture.Need(t, err)
	cache, _ := fixture.CacheDir()
	db, err := fixture.VulnDB(ctx, cache)
	fixture.Need(t, err)
	t.Setenv("REDOUBT_CACHE_DIR", t.TempDir())
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	const webRef = "registry.shop.internal/shop/web:2.14.1"
	if err := lp.AppendImage(app.Image, layout.WithAnnotations(map[string]string{image.RefNameAnnotation: webRef})); err != nil {
		t.Fatal(err)
	}
	digest, _ := app.Image.Digest()
	code, out, errOut := redoubt(t, "", "scan", example, "--images", dir, "--db", db, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc imageScanJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	byCheck := map[string]int{}
	for _, f := range doc.Findings {
		if !strings.HasPrefix(f.Check, "image-") || f.Location.Digest == "" {
			continue
		}
		byCheck[f.Check]++
		if f.Resource.Namespace != "shop-web" || f.Resource.Kind != "Deployment" || f.Resource.Name != "web" || f.Resource.Container != "web" ||
			f.Location.Image != webRef || f.Location.Digest != digest.String() {
			t.Errorf("%s about %+v at %+v", f.Check, f.Resource, f.Location)
		}
	}
	if byCheck["image-vulnerability"] == 0 || byCheck["image-has-shell"] == 0 || byCheck["image-component-deleted-not-uninstalled"] != 1 {
		t.Errorf("image findings by check: %v", byCheck)
	}
	// The table summarises the web container's vulnerabilities in one entry; with
	// --show-vulnerabilities it lists each, as JSON does.
	code, table, errOut := redoubt(t, "", "scan", example, "--images", dir, "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(table, "image-vulnerability [web]"); n != 1 ||
		!strings.Contains(table, fmt.Sprintf("%d vulnerabilities in %s", byCheck["image-vulnerability"], webRef)) ||
		!strings.Contains(table, "most severe fixable") {
		t.Errorf("table has %d image-vulnerability entries for web, want one summary of %d:\n%s", n, byCheck["image-vulnerability"], table)
	}
	_, all, _ := redoubt(t, "", "scan", example, "--images", dir, "--db", db, "--show-vulnerabilities")
	if n := strings.Count(all, "image-vulnerability [web]"); n != byCheck["image-vulnerability"] {
		t.Errorf("--show-vulnerabilities lists %d, JSON holds %d", n, byCheck["image-vulnerability"])
	}
	// Images absent from the layout are not scanned (no --pull), and nothing claims otherwise.
	if strings.Contains(out, "grafana") && strings.Contains(out, "image-not-scanned") {
		t.Error("an image outside the layout is reported as a scan failure without --pull")
	}
}

// TestImageScanDockerConfigCredentials: registry credentials come from the Docker config file.
func TestImageScanDockerConfigCredentials(t *testing.T) {
	const user, pass = "ci", "s3cret"
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/private/tools:1"
	img, err := fixture.Image(fixture.Layer{CreatedBy: "COPY curl /usr/bin/curl", Files: []fixture.File{
		{Path: "usr", Type: '5'}, {Path: "usr/bin", Type: '5'}, {Path: "usr/bin/curl", Body: []byte("\x7fELF"), Mode: 0o755}}})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REDOUBT_CACHE_DIR", t.TempDir())
	empty := t.TempDir()
	t.Setenv("DOCKER_CONFIG", empty)
	code, _, errOut := redoubt(t, "", "image", "scan", ref, "--db", t.TempDir())
	if code != 2 || !strings.Contains(errOut, ref) {
		t.Errorf("without credentials: exit %d, stderr %s", code, errOut)
	}
	withCreds := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	if err := os.WriteFile(filepath.Join(withCreds, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", withCreds)
	code, out, errOut := redoubt(t, "", "image", "scan", ref, "--db", t.TempDir(), "--format", "json")
	if code != 0 || !strings.Contains(out, "image-has-network-tool") {
		t.Errorf("with the Docker config's credentials: exit %d, stderr %s", code, errOut)
	}
}

// TestImageScanVEX: an OpenVEX statement about the image (by digest) and a package in it
// suppresses exactly that vulnerability finding, which stays in the output, marked.
func TestImageScanVEX(t *testing.T) {
	archive, db := appArchive(t)
	ref := "docker-archive:" + archive
	_, out, _ := redoubt(t, "", "image", "scan", ref, "--db", db, "--format", "json")
	var doc imageScanJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	digest := doc.Images[0].Digest
	vexDoc := fmt.Sprintf(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.test/vex/1","author":"test","timestamp":"2026-01-01T00:00:00Z","version":1,
"statements":[{"vulnerability":{"name":"CVE-2021-23337"},"products":[{"@id":"pkg:oci/app@%s","subcomponents":[{"@id":"pkg:npm/lodash@4.17.15"}]}],
"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`, digest)
	p := filepath.Join(t.TempDir(), "app.openvex.json")
	if err := os.WriteFile(p, []byte(vexDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := redoubt(t, "", "image", "scan", ref, "--db", db, "--format", "json", "--vex", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var raw struct {
		Findings []struct {
			Vulnerability *struct{ ID, Package string }
			Suppressed    *struct{ Source, Status, Justification string }
		}
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	suppressed := 0
	for _, f := range raw.Findings {
		if f.Suppressed == nil {
			continue
		}
		suppressed++
		if f.Vulnerability == nil || f.Vulnerability.ID != "CVE-2021-23337" || f.Vulnerability.Package != "lodash" ||
			f.Suppressed.Source != "vex" || f.Suppressed.Status != "not_affected" {
			t.Errorf("suppressed %+v by %+v", f.Vulnerability, f.Suppressed)
		}
	}
	if suppressed != 1 {
		t.Errorf("%d findings suppressed, want 1 (stderr %s)", suppressed, errOut)
	}
}
