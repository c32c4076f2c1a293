package image_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
)

func appImage(t *testing.T) *fixture.App {
	t.Helper()
	app, err := fixture.AppImage(context.Background())
	fixture.Need(t, err)
	return app
}

// pkgKey renders a package as the assertions spell it.
func pkgKey(p image.Package) string {
	return fmt.Sprintf("%s %s %s L%d", p.Type, p.Name, p.Version, p.Layer)
}

func scanRef(t *testing.T, ref string, cache *image.Cache) *image.Report {
	t.Helper()
	ctx := context.Background()
	src, err := image.Open(ctx, ref, image.SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := image.Scan(ctx, src, image.Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestScanAppImage(t *testing.T) {
	app := appImage(t)
	dir := t.TempDir()

	// The same image through each transport.
	lp, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(app.Image, layout.WithAnnotations(map[string]string{image.RefNameAnnotation: "example.test/app:1.0"})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "app.tar")
	tag, _ := name.NewTag("example.test/app:1.0")
	if err := tarball.WriteToFile(archive, tag, app.Image); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	regRef := host + "/shop/app:1.0"
	rt, _ := name.NewTag(regRef)
	if err := remote.Write(rt, app.Image); err != nil {
		t.Fatal(err)
	}
	want, _ := app.Image.Digest()

	refs := []string{"oci:" + filepath.Join(dir, "oci") + ":example.test/app:1.0", "docker-archive:" + archive, regRef}
	var first *image.Report
	for _, ref := range refs {
		t.Run(strings.SplitN(ref, ":", 2)[0], func(t *testing.T) {
			rep := scanRef(t, ref, nil)
			if rep.Digest != want.String() && !strings.HasPrefix(ref, "docker-archive:") {
				t.Errorf("digest %s, want %s", rep.Digest, want)
			}
			checkApp(t, rep)
			if first == nil {
				first = rep
				return
			}
			if a, b := keys(first), keys(rep); !slices.Equal(a, b) {
				t.Errorf("%s found other packages than %s:\n%v\nvs\n%v", ref, refs[0], b, a)
			}
		})
	}
}

func keys(r *image.Report) []string {
	var out []string
	for _, p := range r.Packages {
		out = append(out, pkgKey(p)+" "+p.Path)
	}
	return out
}

func checkApp(t *testing.T, rep *image.Report) {
	t.Helper()
	if rep.Distro == nil || rep.Distro.ID != "debian" || rep.Distro.VersionID != "12" {
		t.Fatalf("distro = %+v, want debian 12", rep.Distro)
	}
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings on a well-formed image: %q", rep.Warnings)
	}
	if len(rep.Layers) != 5 || !strings.HasPrefix(rep.Layers[1].CreatedBy, "RUN apt-get install") {
		t.Fatalf("layers = %+v", rep.Layers)
	}
	got := map[string]image.Package{}
	for _, p := range rep.Packages {
		got[pkgKey(p)] = p
	}
	app := appImage(t)
	var wantPkgs []string
	for _, d := range app.Base {
		wantPkgs = append(wantPkgs, fmt.Sprintf("deb %s %s L0", d.Package, d.Version))
	}
	for _, d := range app.Added {
		wantPkgs = append(wantPkgs, fmt.Sprintf("deb %s %s L1", d.Package, d.Version))
	}
	wantPkgs = append(wantPkgs,
		"pypi urllib3 1.26.12 L1",
		"gem rack 2.2.22 L1",
		"maven org.apache.logging.log4j:log4j-core 2.19.0 L1",
		"npm lodash 4.17.15 L2",
		"npm minimist 1.2.5 L2",
		"golang golang.org/x/text v0.3.0 L3",
		"golang golang.org/x/net v0.0.0-20190620200207-3b0461eec859 L3",
		"cargo smallvec 1.6.0 L3",
	)
	for _, w := range wantPkgs {
		if _, ok := got[w]; !ok {
			t.Errorf("missing package %q", w)
		}
	}
	if t.Failed() {
		for _, p := range rep.Packages {
			t.Logf("found %s (%s)", pkgKey(p), p.Path)
		}
	}
	// Source packages and ecosystems for matching.
	ssl, urllib := debVersion(app, "libssl3"), debVersion(app, "python3-urllib3")
	for k, want := range map[string][3]string{
		"deb libssl3 " + ssl + " L0":                          {"openssl", ssl, "Debian:12"},
		"deb python3-urllib3 " + urllib + " L1":               {"python-urllib3", urllib, "Debian:12"},
		"npm lodash 4.17.15 L2":                               {"lodash", "4.17.15", "npm"},
		"golang golang.org/x/text v0.3.0 L3":                  {"golang.org/x/text", "v0.3.0", "Go"},
		"maven org.apache.logging.log4j:log4j-core 2.19.0 L1": {"org.apache.logging.log4j:log4j-core", "2.19.0", "Maven"},
	} {
		p, ok := got[k]
		if !ok {
			continue
		}
		if p.MatchName() != want[0] || p.MatchVersion() != want[1] || p.Ecosystem != want[2] {
			t.Errorf("%s matches as %s %s in %q, want %v", k, p.MatchName(), p.MatchVersion(), p.Ecosystem, want)
		}
	}
	if p, ok := got["npm lodash 4.17.15 L2"]; ok && p.PURL != "pkg:npm/lodash@4.17.15" {
		t.Errorf("lodash purl %q", p.PURL)
	}
	if p, ok := got["deb libssl3 "+ssl+" L0"]; ok && p.PURL != "pkg:deb/debian/libssl3@"+ssl+"?arch=amd64&distro=debian-12&upstream=openssl" {
		t.Errorf("libssl3 purl %q", p.PURL)
	}
	// The lockfile must not double the installed npm packages.
	n := 0
	for _, p := range rep.Packages {
		if p.Name == "lodash" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("lodash reported %d times", n)
	}
	// Go's toolchain is reported as stdlib.
	if !slices.ContainsFunc(rep.Packages, func(p image.Package) bool { return p.Name == "stdlib" && p.Layer == 3 }) {
		t.Error("no stdlib package for the Go binary")
	}

	comps := map[string]image.Component{}
	for _, c := range rep.Components {
		comps[c.Name] = c
	}
	if c, ok := comps["dash"]; !ok || c.Class != image.ClassShell || c.Layer != 0 || !slices.Contains(c.Names, "sh") || c.Package != "dash" {
		t.Errorf("dash = %+v, want a shell from layer 0, also named sh, from package dash", c)
	}
	if c, ok := comps["wget"]; !ok || c.Class != image.ClassNetworkTool || c.Layer != 1 || c.Package != "wget" || c.Removed {
		t.Errorf("wget = %+v, want a network tool from layer 1", c)
	}
	if c, ok := comps["curl"]; !ok || !c.Removed || c.Package != "curl" || c.Layer != 4 {
		t.Errorf("curl = %+v, want removed by layer 4 while package curl is still registered", c)
	}
	if c, ok := comps["gdb"]; ok {
		t.Errorf("gdb was deleted by layer 4 but is reported: %+v", c)
	}
	if t.Failed() {
		for _, c := range rep.Components {
			t.Logf("component %+v", c)
		}
	}
}

func TestLayerCache(t *testing.T) {
	app := appImage(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(archive, name.MustParseReference("example.test/app:1.0").(name.Tag), app.Image); err != nil {
		t.Fatal(err)
	}
	cache, err := image.OpenCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	cold := scanRef(t, "docker-archive:"+archive, cache)
	warm := scanRef(t, "docker-archive:"+archive, cache)
	for i := range cold.Layers {
		if cold.Layers[i].Cached {
			t.Errorf("layer %d cached on the first scan", i)
		}
		if !warm.Layers[i].Cached {
			t.Errorf("layer %d read again on the second scan", i)
		}
	}
	if a, b := keys(cold), keys(warm); !slices.Equal(a, b) {
		t.Errorf("cached scan differs:\n%v\n%v", a, b)
	}
	checkApp(t, warm)
	// Nothing is left in the cache's temporary directory.
	if left, _ := os.ReadDir(cache.TempDir()); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestDockerSaveArchive reads an archive as `docker save` writes it: uncompressed layer tars
// and a manifest.json naming them. The result must equal the registry-form scan.
func TestDockerSaveArchive(t *testing.T) {
	app := appImage(t)
	p := filepath.Join(t.TempDir(), "saved.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	raw, _ := app.Image.RawConfigFile()
	cfgName, _ := app.Image.ConfigName()
	add("blobs/sha256/"+cfgName.Hex, raw)
	layers, _ := app.Image.Layers()
	var names []string
	for _, l := range layers {
		d, _ := l.DiffID()
		rc, _ := l.Uncompressed()
		data, _ := io.ReadAll(rc)
		rc.Close()
		name := "blobs/sha256/" + d.Hex
		add(name, data)
		names = append(names, name)
	}
	manifest, _ := json.Marshal([]map[string]any{{"Config": "blobs/sha256/" + cfgName.Hex, "RepoTags": []string{"example.test/app:1.0"}, "Layers": names}})
	add("manifest.json", manifest)
	tw.Close()
	f.Close()

	rep := scanRef(t, "docker-archive:"+p, nil)
	checkApp(t, rep)
	if rep.Digest != cfgName.String() {
		t.Errorf("digest %s, want the image ID %s", rep.Digest, cfgName)
	}
	for i, l := range layers {
		d, _ := l.DiffID()
		if rep.Layers[i].DiffID != d.String() || rep.Layers[i].Digest != d.String() {
			t.Errorf("layer %d: diff ID %s digest %s, want both %s (uncompressed)", i, rep.Layers[i].DiffID, rep.Layers[i].Digest, d)
		}
	}
}

func debVersion(app *fixture.App, name string) string {
	for _, d := range append(append([]*fixture.Deb(nil), app.Base...), app.Added...) {
		if d.Package == name {
			return d.Version
		}
	}
	return ""
}
