package imagescan_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/osv-scalibr/semantic"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/vuln"
)

// scanApp scans the test application image (built from real packages) and matches it against
// a database of real vulnerability data.
func scanApp(t *testing.T, o imagescan.MatchOptions) *image.Report {
	t.Helper()
	ctx := context.Background()
	app, err := fixture.AppImage(ctx)
	fixture.Need(t, err)
	cache, err := fixture.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dbDir, err := fixture.VulnDB(ctx, cache)
	fixture.Need(t, err)
	db, err := vuln.Open(dbDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rep, err := image.Scan(ctx, &image.Source{Ref: "example.test/app:1.0", Image: app.Image}, image.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := imagescan.Match(ctx, rep, db, o); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestVulnerabilitiesOfApp: every planted vulnerable package is found with the layer that
// installed it and the right fix status, and nothing is reported that the data does not
// support.
func TestVulnerabilitiesOfApp(t *testing.T) {
	rep := scanApp(t, imagescan.MatchOptions{})
	byPkg := map[string][]image.Vulnerability{}
	for _, v := range rep.Vulnerabilities {
		p := rep.Packages[v.Package]
		byPkg[p.Name] = append(byPkg[p.Name], v)
	}
	var pkgs []string
	for k := range byPkg {
		pkgs = append(pkgs, k)
	}
	sort.Strings(pkgs)
	t.Logf("vulnerable packages: %v (%d vulnerabilities)", pkgs, len(rep.Vulnerabilities))

	// Planted: an old openssl (libssl3 3.0.20 < fixes in the 3.0.22 changelog), lodash 4.17.15
	// (two GHSA records), minimist 1.2.5, golang.org/x/text v0.3.0 and an old x/net.
	want := map[string]struct {
		layer int
		ids   []string
	}{
		"libssl3":           {0, nil},
		"lodash":            {2, []string{"GHSA-35jh-r3h4-6jhm", "GHSA-p6mc-m468-83gw"}},
		"minimist":          {2, []string{"GHSA-xvch-5gv4-984h"}},
		"golang.org/x/text": {3, []string{"CVE-2020-14040", "CVE-2021-38561", "CVE-2022-32149"}},
		"golang.org/x/net":  {3, nil},
	}
	for name, w := range want {
		vs := byPkg[name]
		if len(vs) == 0 {
			t.Errorf("%s: no vulnerability found", name)
			continue
		}
		for _, v := range vs {
			if p := rep.Packages[v.Package]; p.Layer != w.layer {
				t.Errorf("%s %s: layer %d, want %d", name, v.ID, p.Layer, w.layer)
			}
		}
		for _, id := range w.ids {
			if !slices.ContainsFunc(vs, func(v image.Vulnerability) bool { return v.ID == id || slices.Contains(v.Aliases, id) }) {
				t.Errorf("%s: %s not found among %d", name, id, len(vs))
			}
		}
	}
	// Only packages the data covers: no vulnerability for curl (installed at its newest
	// version), wget, log4j (no Maven data), smallvec (no crates.io data).
	allowed := []string{"libssl3", "lodash", "minimist", "golang.org/x/text", "golang.org/x/net", "stdlib"}
	for _, name := range pkgs {
		if !slices.Contains(allowed, name) {
			t.Errorf("unexpected vulnerability in %s: %v", name, byPkg[name][0].ID)
		}
	}
	// Fix status: every fixed version is newer than what is installed, in the package's own
	// version ordering; one finding per vulnerability and package.
	seen := map[string]bool{}
	for _, v := range rep.Vulnerabilities {
		p := rep.Packages[v.Package]
		key := p.Name + " " + v.ID
		if seen[key] {
			t.Errorf("%s reported twice", key)
		}
		seen[key] = true
		if v.Fixed == "" {
			continue
		}
		eco := vuln.Ecosystem(p.Ecosystem)
		if eco == "Go" {
			eco = "Go"
		}
		installed, err := semantic.Parse(strings.TrimPrefix(p.MatchVersion(), "v"), eco)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if c, err := installed.CompareStr(strings.TrimPrefix(v.Fixed, "v")); err != nil || c >= 0 {
			t.Errorf("%s %s: installed %s is not older than fixed %s", p.Name, v.ID, p.MatchVersion(), v.Fixed)
		}
	}
	// libssl3 is matched through its source package and every finding is fixable.
	for _, v := range byPkg["libssl3"] {
		if v.Fixed == "" {
			t.Errorf("libssl3 %s: fixed %q", v.ID, v.Fixed)
		}
	}
	if !slices.ContainsFunc(rep.Vulnerabilities, func(v image.Vulnerability) bool { return v.ID == "CVE-2022-32149" && v.Fixed == "0.3.8" }) {
		t.Error("CVE-2022-32149 (x/text, fixed in 0.3.8) missing or with another fix")
	}
}

// TestPlatformLimitedGoVulnerabilities: the app's Go binary is built for linux/amd64 with the
// local toolchain, whose standard library the Go vulnerability database holds Windows-only
// records against (GO-2026-6604, CVE-2026-56857: imports os and internal/syscall/windows,
// goos windows). Like node-exporter in the example, the binary must not be reported for them,
// as govulncheck would not; the Go packages carry the binary's platform.
func TestPlatformLimitedGoVulnerabilities(t *testing.T) {
	rep := scanApp(t, imagescan.MatchOptions{})
	var goPkgs int
	for _, p := range rep.Packages {
		if p.Type != "golang" {
			continue
		}
		goPkgs++
		if p.OS != "linux" || p.Arch != "amd64" {
			t.Errorf("Go package %s %s: platform %s/%s, want the binary's linux/amd64", p.Name, p.Version, p.OS, p.Arch)
		}
	}
	if goPkgs == 0 {
		t.Fatal("the app image has no Go packages")
	}
	windowsOnly := []string{"GO-2026-6604", "CVE-2026-56857", "GO-2025-3750", "CVE-2025-0913", "GO-2026-5024", "CVE-2026-39824"}
	for _, v := range rep.Vulnerabilities {
		for _, id := range append([]string{v.ID}, v.Aliases...) {
			if slices.Contains(windowsOnly, id) {
				t.Errorf("%s %s: %s affects Windows only, the binary is linux/amd64", rep.Packages[v.Package].Name, rep.Packages[v.Package].Version, v.ID)
			}
		}
	}
}

func TestIgnoreUnfixed(t *testing.T) {
	all := scanApp(t, imagescan.MatchOptions{})
	fixed := scanApp(t, imagescan.MatchOptions{IgnoreUnfixed: true})
	unfixed := 0
	for _, v := range all.Vulnerabilities {
		if v.Fixed == "" {
			unfixed++
		}
	}
	if len(fixed.Vulnerabilities) != len(all.Vulnerabilities)-unfixed {
		t.Errorf("--ignore-unfixed kept %d of %d (%d unfixed)", len(fixed.Vulnerabilities), len(all.Vulnerabilities), unfixed)
	}
	for _, v := range fixed.Vulnerabilities {
		if v.Fixed == "" {
			t.Errorf("%s has no fix but was kept", v.ID)
		}
	}
}

// TestFindings: the report becomes one finding per vulnerability and package and one per
// component, with the image layer and a concrete remediation.
func TestFindings(t *testing.T) {
	rep := scanApp(t, imagescan.MatchOptions{})
	res := finding.Resource{Namespace: "shop", Kind: "Deployment", Name: "app", Container: "app"}
	fs := imagescan.Findings(rep, res, finding.Location{File: "app.yaml", Line: 12, Image: "example.test/app:1.0"})
	byCheck := map[string][]finding.Finding{}
	for _, f := range fs {
		byCheck[f.Check] = append(byCheck[f.Check], f)
		if f.Resource != res || f.Location.Image != "example.test/app:1.0" || f.Location.Digest != rep.Digest {
			t.Errorf("%s: resource %v location %+v", f.Check, f.Resource, f.Location)
		}
	}
	if n := len(byCheck["image-vulnerability"]); n != len(rep.Vulnerabilities) {
		t.Errorf("%d vulnerability findings for %d vulnerabilities", n, len(rep.Vulnerabilities))
	}
	for _, f := range byCheck["image-vulnerability"] {
		v := f.Vulnerability
		if v == nil || f.Location.Layer == nil || f.Location.LayerID == "" || f.Location.CreatedBy == "" || v.PURL == "" {
			t.Fatalf("incomplete vulnerability finding %+v", f)
		}
		if v.Fixable != (v.FixedVersion != "") {
			t.Errorf("%s: fixable %v with fixed version %q", v.ID, v.Fixable, v.FixedVersion)
		}
		if n := strings.Count(f.Message, v.ID); n != 1 {
			t.Errorf("%s named %d times in %q", v.ID, n, f.Message)
		}
		if v.Package == "lodash" && *f.Location.Layer != 2 {
			t.Errorf("lodash finding at layer %d", *f.Location.Layer)
		}
	}
	comp := func(check, name string) *finding.Finding {
		for i := range byCheck[check] {
			if byCheck[check][i].Evidence["name"] == name {
				return &byCheck[check][i]
			}
		}
		return nil
	}
	if f := comp("image-has-network-tool", "wget"); f == nil || *f.Location.Layer != 1 ||
		!strings.Contains(f.Remediation, "apt-get purge -y --auto-remove wget") {
		t.Errorf("wget finding %+v", f)
	}
	if f := comp("image-has-shell", "dash"); f == nil || !strings.Contains(f.Message, "also sh") || !strings.Contains(f.Remediation, "distroless") {
		t.Errorf("dash finding %+v", f)
	}
	if f := comp("image-component-deleted-not-uninstalled", "curl"); f == nil || *f.Location.Layer != 4 ||
		!strings.Contains(f.Message, "package curl is still registered") {
		t.Errorf("curl finding %+v", f)
	}
	if f := comp("image-has-debugger", "gdb"); f != nil {
		t.Errorf("gdb was deleted but reported: %s", f.Message)
	}
	if t.Failed() {
		for _, f := range fs {
			if f.Vulnerability == nil {
				fmt.Println(f.Check, f.Message, "|", f.Remediation)
			}
		}
	}
}
