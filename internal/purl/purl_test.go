package purl

import "testing"

func TestPURL(t *testing.T) {
	tests := []struct{ in, name, version string }{
		{"pkg:npm/%40babel/core@7.0.0", "@babel/core", "7.0.0"},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar", "org.apache.logging.log4j:log4j-core", "2.14.1"},
		{"pkg:golang/golang.org/x/net@v0.0.0-2019", "golang.org/x/net", "v0.0.0-2019"},
		{"pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12", "curl", "7.88.1-10+deb12u5"},
		{"pkg:oci/api@sha256%3Aabc?repository_url=r/api", "api", "sha256:abc"},
	}
	for _, tc := range tests {
		p, err := Parse(tc.in)
		if err != nil || p.PackageName() != tc.name || p.Version != tc.version {
			t.Errorf("Parse(%s) = %+v (%s), %v", tc.in, p, p.PackageName(), err)
		}
	}
	for _, bad := range []string{"npm/a", "pkg:", "pkg:npm", "pkg:npm/%zz"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		pattern, p string
		want       bool
	}{
		{"pkg:npm/lodash@4.17.15", "pkg:npm/lodash@4.17.15", true},
		{"pkg:npm/lodash@4.17.15", "pkg:npm/lodash@4.17.21", false},
		{"pkg:npm/lodash", "pkg:npm/lodash@4.17.21", true},
		{"pkg:npm/lodash", "pkg:pypi/lodash@1", false},
		{"pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5", "pkg:deb/debian/curl@7.88.1-10+deb12u5?arch=amd64&distro=debian-12", true},
		{"pkg:maven/org.apache/log4j-core@2.14.1", "pkg:maven/org.apache/log4j-api@2.14.1", false},
	}
	for _, tc := range tests {
		a, err := Parse(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Covers(b); got != tc.want {
			t.Errorf("%s covers %s = %v, want %v", tc.pattern, tc.p, got, tc.want)
		}
	}
}
