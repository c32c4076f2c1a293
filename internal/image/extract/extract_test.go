package extract

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func extractBytes(t *testing.T, x Extractor, path string, data []byte) Result {
	t.Helper()
	if !x.Required(path, 0o644, int64(len(data))) {
		t.Fatalf("%s does not want %s", x.Name(), path)
	}
	r, err := x.Extract(context.Background(), File{Path: path, Size: int64(len(data)), Mode: 0o644, R: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func names(pkgs []Package) string {
	var out []string
	for _, p := range pkgs {
		s := p.Name + "@" + p.Version
		if p.Source != "" && p.Source != p.Name || p.SourceVersion != "" && p.SourceVersion != p.Version {
			s += "(" + p.Source + "@" + p.SourceVersion + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestTextDatabases(t *testing.T) {
	keep := func(p string) bool { return strings.HasPrefix(p, "bin/") }
	for _, tc := range []struct {
		x    Extractor
		path string
		data string
		want string
	}{
		{&Dpkg{}, "var/lib/dpkg/status",
			"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.20-1~deb12u2)\nVersion: 3.0.20-1~deb12u2\nDescription: x\n multi\n line\n\n" +
				"Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n\n" +
				"Package: binnmu\nStatus: install ok installed\nSource: bash\nVersion: 5.2.15-2+b2\n",
			"libssl3@3.0.20-1~deb12u2(openssl@3.0.20-1~deb12u2) binnmu@5.2.15-2+b2(bash@5.2.15-2+b2)"},
		{&Dpkg{}, "var/lib/dpkg/status.d/base-files",
			"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n", "base-files@12.4+deb12u5"},
		{&Apk{KeepOwned: keep}, "lib/apk/db/installed",
			"C:Q1abc=\nP:busybox\nV:1.36.1-r29\nA:x86_64\no:busybox\nF:bin\nR:busybox\nR:sh\n\nP:libcrypto3\nV:3.3.1-r0\no:openssl\n",
			"busybox@1.36.1-r29 libcrypto3@3.3.1-r0(openssl@3.3.1-r0)"},
		{Python{}, "usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
			"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: x\n\nVersion: 9.9\n", "requests@2.31.0"},
		{Gem{}, "usr/local/bundle/specifications/rack-2.2.3.gemspec",
			"# -*- encoding: utf-8 -*-\nGem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.3\"\nend\n", "rack@2.2.3"},
		{Gem{}, "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", "# no assignments\n", "json@2.6.1"},
		{NPM{}, "app/node_modules/@babel/core/package.json", `{"name":"@babel/core","version":"7.0.0"}`, "@babel/core@7.0.0"},
		{NPM{}, "srv/package-lock.json",
			`{"lockfileVersion":3,"packages":{"":{"name":"srv","dependencies":{"lodash":"4.17.15"}},"node_modules/lodash":{"version":"4.17.15"},"node_modules/express":{"version":"4.17.1","dependencies":{"accepts":"~1.3.7"}},"node_modules/jest":{"version":"29.0.0","dev":true}}}`,
			"express@4.17.1 lodash@4.17.15"},
		{NPM{}, "srv/package-lock.json",
			`{"lockfileVersion":1,"dependencies":{"minimist":{"version":"1.2.5","dependencies":{"x":{"version":"1.0.0"}}},"jest":{"version":"1.0.0","dev":true}}}`,
			"minimist@1.2.5 x@1.0.0"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := extractBytes(t, tc.x, tc.path, []byte(tc.data))
			if got := names(r.Packages); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	r := extractBytes(t, &Apk{KeepOwned: keep}, "lib/apk/db/installed", []byte("P:busybox\nV:1\nF:bin\nR:sh\nF:etc\nR:motd\n"))
	if got := fmt.Sprint(r.Owners); got != "map[busybox:[bin/sh]]" {
		t.Errorf("apk owners %s", got)
	}
	r = extractBytes(t, &Dpkg{KeepOwned: keep}, "var/lib/dpkg/info/dash:amd64.list", []byte("/.\n/bin\n/bin/dash\n/usr/share/doc\n"))
	if got := fmt.Sprint(r.Owners); got != "map[dash:[bin/dash]]" {
		t.Errorf("dpkg owners %s", got)
	}
}

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		x    Extractor
		path string
		want bool
	}{
		{NPM{}, "app/package.json", false},
		{NPM{}, "app/node_modules/.package-lock.json", false},
		{NPM{}, "app/node_modules/a/node_modules/b/package.json", true},
		{NPM{}, "app/node_modules/a/lib/package.json", false},
		{Python{}, "usr/lib/python3/dist-packages/six-1.16.0.egg-info", true},
		{Python{}, "usr/lib/python3/dist-packages/six.py", false},
		{&Dpkg{}, "var/lib/dpkg/status.d/base.md5sums", false},
		{&Dpkg{}, "var/lib/dpkg/info/curl.list", false}, // no KeepOwned: lists are not read
		{&RPM{}, "usr/lib/sysimage/rpm/rpmdb.sqlite", true},
		{Java{}, "opt/app/lib/App.WAR", true},
	} {
		if got := tc.x.Required(tc.path, 0o644, 100); got != tc.want {
			t.Errorf("%s.Required(%q) = %v, want %v", tc.x.Name(), tc.path, got, tc.want)
		}
	}
}

// TestRPM reads real RPM databases in all three formats: the BerkeleyDB, ndb and SQLite
// databases of CentOS 7, SLE 15 and Fedora 35 images that go-rpmdb keeps as its own test data
// (in the module cache, where `go mod download` put the module this package builds with).
func TestRPM(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/erikvarga/go-rpmdb").Output()
	if err != nil {
		t.Fatalf("locating go-rpmdb's module directory: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "pkg", "testdata")
	for _, tc := range []struct{ file, path, pkg string }{
		{"centos7-plain/Packages", "var/lib/rpm/Packages", "openssl-libs@1:1.0.2k-12.el7(openssl@1:1.0.2k-12.el7)"},
		{"sle15-bci/Packages.db", "usr/lib/sysimage/rpm/Packages.db", "glibc@2.31-9.3.2"},
		{"fedora35/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", "openssl-libs@1:1.1.1l-2.fc35(openssl@1:1.1.1l-2.fc35)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			r := extractBytes(t, &RPM{TempDir: tmp}, tc.path, data)
			if len(r.Packages) < 30 {
				t.Errorf("only %d packages", len(r.Packages))
			}
			all := " " + names(r.Packages) + " "
			if !strings.Contains(all, " "+tc.pkg+" ") {
				t.Errorf("no %s among %d packages", tc.pkg, len(r.Packages))
				for _, p := range r.Packages {
					if strings.Contains(p.Name, "ssl") || strings.Contains(p.Name, "glibc") {
						t.Logf("%+v", p)
					}
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("copies left in the temporary directory: %v", left)
			}
		})
	}
}

func TestJavaNested(t *testing.T) {
	jar := func(entries map[string][]byte) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for name, data := range entries {
			w, _ := zw.Create(name)
			w.Write(data)
		}
		zw.Close()
		return b.Bytes()
	}
	inner := jar(map[string][]byte{"META-INF/maven/org.yaml/snakeyaml/pom.properties": []byte("groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n")})
	noPom := jar(map[string][]byte{"META-INF/MANIFEST.MF": []byte("Manifest-Version: 1.0\r\nBundle-SymbolicName: com.google.guava\r\nBundle-Version: 31.1.0\r\n")})
	outer := jar(map[string][]byte{
		"META-INF/maven/com.example/app/pom.properties": []byte("groupId=com.example\nartifactId=app\nversion=1.0.0\n"),
		"BOOT-INF/lib/snakeyaml-1.33.jar":               inner,
		"BOOT-INF/lib/guava-31.1-jre.jar":               noPom,
	})
	r := extractBytes(t, Java{}, "app/app.jar", outer)
	got := map[string]string{}
	for _, p := range r.Packages {
		got[p.Name+"@"+p.Version] = p.Path
	}
	for want, path := range map[string]string{
		"com.example:app@1.0.0":   "app/app.jar",
		"org.yaml:snakeyaml@1.33": "app/app.jar!/BOOT-INF/lib/snakeyaml-1.33.jar",
		"com.google:guava@31.1.0": "app/app.jar!/BOOT-INF/lib/guava-31.1-jre.jar",
	} {
		if got[want] != path {
			t.Errorf("%s at %q, want %q (found %v)", want, got[want], path, got)
		}
	}
}

// TestJavaBomb: a nested archive that inflates beyond the nested-archive limit is refused with
// a message naming it, and one whose header understates its size is read no further than the
// header says (archive/zip stops there), so neither is inflated into memory.
func TestJavaBomb(t *testing.T) {
	zero := make([]byte, 1<<20)
	var honest bytes.Buffer
	zw := zip.NewWriter(&honest)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "BOOT-INF/lib/bomb.jar", Method: zip.Deflate})
	for range (maxNestedArchive >> 20) + 16 {
		w.Write(zero)
	}
	zw.Close()
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	for range (maxNestedArchive >> 20) + 16 {
		fw.Write(zero)
	}
	fw.Close()
	var lying bytes.Buffer
	zw = zip.NewWriter(&lying)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "BOOT-INF/lib/bomb.jar", Method: zip.Deflate,
		CompressedSize64: uint64(deflated.Len()), UncompressedSize64: 1024})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(deflated.Bytes())
	zw.Close()
	for name, data := range map[string][]byte{"honest header": honest.Bytes(), "understated size": lying.Bytes()} {
		_, err := Java{}.Extract(context.Background(), File{Path: "app.jar", Size: int64(len(data)), R: bytes.NewReader(data)})
		if err == nil || !strings.Contains(err.Error(), "app.jar!/BOOT-INF/lib/bomb.jar") {
			t.Errorf("%s: err = %v, want an error naming the nested archive", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}
