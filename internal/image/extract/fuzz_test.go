package extract

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"io/fs"
	"testing"
)

// fuzzExtractor runs one extractor on arbitrary bytes: it may fail, never panic.
func fuzzExtractor(f *testing.F, x Extractor, path string, mode fs.FileMode, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x.Extract(context.Background(), File{Path: path, Size: int64(len(data)), Mode: mode, R: bytes.NewReader(data)})
	})
}

func FuzzDpkgStatus(f *testing.F) {
	fuzzExtractor(f, &Dpkg{}, "var/lib/dpkg/status", 0o644,
		[]byte("Package: libssl3\nStatus: install ok installed\nSource: openssl (3.0.20-1~deb12u2)\nVersion: 3.0.20-1~deb12u2\nArchitecture: amd64\nDescription: x\n more\n\n"))
}

func FuzzDpkgList(f *testing.F) {
	fuzzExtractor(f, &Dpkg{KeepOwned: func(string) bool { return true }}, "var/lib/dpkg/info/curl:amd64.list", 0o644,
		[]byte("/.\n/usr/bin/curl\n"))
}

func FuzzApkInstalled(f *testing.F) {
	fuzzExtractor(f, &Apk{KeepOwned: func(string) bool { return true }}, "lib/apk/db/installed", 0o644,
		[]byte("C:Q1\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\n"))
}

func FuzzOSRelease(f *testing.F) {
	fuzzExtractor(f, OSRelease{}, "etc/os-release", 0o644, []byte("ID=\"debian\"\nVERSION_ID='12'\nVERSION_CODENAME=bookworm\n"))
}

func FuzzPackageJSON(f *testing.F) {
	fuzzExtractor(f, NPM{}, "app/node_modules/lodash/package.json", 0o644, []byte(`{"name":"lodash","version":"4.17.15"}`))
}

func FuzzPackageLock(f *testing.F) {
	fuzzExtractor(f, NPM{}, "app/package-lock.json", 0o644,
		[]byte(`{"lockfileVersion":3,"packages":{"":{},"node_modules/lodash":{"version":"4.17.15"},"node_modules/a/node_modules/b":{"version":"1.0.0","dev":true}}}`),
		[]byte(`{"lockfileVersion":1,"dependencies":{"minimist":{"version":"1.2.5","dependencies":{"x":{"version":"1.0.0"}}}}}`))
}

func FuzzPythonMetadata(f *testing.F) {
	fuzzExtractor(f, Python{}, "usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info/METADATA", 0o644,
		[]byte("Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.12\n\nbody"))
}

func FuzzGemspec(f *testing.F) {
	fuzzExtractor(f, Gem{}, "var/lib/gems/3.1.0/specifications/rack-2.2.3.gemspec", 0o644,
		[]byte("Gem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.3\"\nend\n"))
}

func FuzzJavaArchive(f *testing.F) {
	var inner bytes.Buffer
	zw := zip.NewWriter(&inner)
	w, _ := zw.Create("META-INF/maven/org.yaml/snakeyaml/pom.properties")
	w.Write([]byte("groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n"))
	zw.Close()
	var outer bytes.Buffer
	zw = zip.NewWriter(&outer)
	w, _ = zw.Create("META-INF/MANIFEST.MF")
	w.Write([]byte("Manifest-Version: 1.0\nImplementation-Title: app\nImplementation-Version: 1.0\n"))
	w, _ = zw.Create("BOOT-INF/lib/snakeyaml-1.33.jar")
	w.Write(inner.Bytes())
	zw.Close()
	fuzzExtractor(f, Java{}, "app/app.jar", 0o644, outer.Bytes())
}

func FuzzCargoAudit(f *testing.F) {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(`{"packages":[{"name":"smallvec","version":"1.6.0","source":"crates.io"}]}`))
	zw.Close()
	f.Add(z.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) { ParseCargoAudit(bytes.NewReader(data)) })
}

func FuzzGoBinary(f *testing.F) {
	fuzzExtractor(f, GoBinary{}, "usr/local/bin/app", 0o755, []byte("\x7fELF\x02\x01\x01\x00"))
}

func FuzzRPMDB(f *testing.F) {
	fuzzExtractor(f, &RPM{TempDir: f.TempDir()}, "var/lib/rpm/rpmdb.sqlite", 0o644, []byte("SQLite format 3\x00"),
		[]byte("\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x61\x15\x06\x00"))
}
