package image

import (
	"testing"

	"redoubt.dev/redoubt/internal/image/extract"
)

func TestEcosystemAndPURL(t *testing.T) {
	debian := &extract.Distro{ID: "debian", VersionID: "12"}
	trixie := &extract.Distro{ID: "debian", Codename: "trixie"}
	alpine := &extract.Distro{ID: "alpine", VersionID: "3.20.3"}
	rocky := &extract.Distro{ID: "rocky", VersionID: "9.4"}
	for _, tc := range []struct {
		p    extract.Package
		d    *extract.Distro
		eco  string
		purl string
	}{
		{extract.Package{Name: "libssl3", Version: "3.0.20-1~deb12u2", Type: extract.TypeDeb, Arch: "amd64", Source: "openssl", SourceVersion: "3.0.20-1~deb12u2"},
			debian, "Debian:12", "pkg:deb/debian/libssl3@3.0.20-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"},
		{extract.Package{Name: "bash", Version: "5.2.15-2+b2", Type: extract.TypeDeb, Source: "bash", SourceVersion: "5.2.15-2"},
			debian, "Debian:12", "pkg:deb/debian/bash@5.2.15-2%2Bb2?distro=debian-12"},
		{extract.Package{Name: "bash", Version: "5.2.37-1", Type: extract.TypeDeb}, trixie, "Debian:13", "pkg:deb/debian/bash@5.2.37-1?distro=debian"},
		{extract.Package{Name: "libcrypto3", Version: "3.3.2-r0", Type: extract.TypeApk, Arch: "x86_64", Source: "openssl"},
			alpine, "Alpine:v3.20", "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&origin=openssl"},
		{extract.Package{Name: "openssl-libs", Version: "1:3.0.7-27.el9", Type: extract.TypeRPM, Arch: "x86_64"},
			rocky, "Rocky Linux:9", "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1"},
		{extract.Package{Name: "curl", Version: "8.0", Type: extract.TypeDeb}, nil, "", "pkg:deb/curl@8.0"},
		{extract.Package{Name: "golang.org/x/text", Version: "v0.3.0", Type: extract.TypeGo}, nil, "Go", "pkg:golang/golang.org/x/text@v0.3.0"},
		{extract.Package{Name: "@babel/core", Version: "7.0.0", Type: extract.TypeNPM}, nil, "npm", "pkg:npm/%40babel/core@7.0.0"},
		{extract.Package{Name: "Jinja2", Version: "3.1.2", Type: extract.TypePyPI}, nil, "PyPI", "pkg:pypi/jinja2@3.1.2"},
		{extract.Package{Name: "org.apache.logging.log4j:log4j-core", Version: "2.19.0", Type: extract.TypeMaven}, nil, "Maven",
			"pkg:maven/org.apache.logging.log4j/log4j-core@2.19.0"},
		{extract.Package{Name: "smallvec", Version: "1.6.0", Type: extract.TypeCargo}, nil, "crates.io", "pkg:cargo/smallvec@1.6.0"},
		{extract.Package{Name: "rack", Version: "2.2.3", Type: extract.TypeGem}, nil, "RubyGems", "pkg:gem/rack@2.2.3"},
	} {
		if got := Ecosystem(tc.p.Type, tc.d); got != tc.eco {
			t.Errorf("%s: ecosystem %q, want %q", tc.p.Name, got, tc.eco)
		}
		if got := PURL(&tc.p, tc.d); got != tc.purl {
			t.Errorf("%s: purl %q, want %q", tc.p.Name, got, tc.purl)
		}
	}
}
