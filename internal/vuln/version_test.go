package vuln

import "testing"

// TestVersionOrderings checks tricky comparisons of each ecosystem, taken from the ecosystems'
// own specifications, through the same parser the matcher uses. Each row says a < b (or a = b).
func TestVersionOrderings(t *testing.T) {
	type cmpCase struct {
		a, op, b string
	}
	tests := map[string][]cmpCase{
		// Debian Policy 5.6.12: epoch first; "~" sorts before anything, even the end of the string;
		// letters sort before non-letters; digits compare numerically.
		"Debian": {
			{"2.0", "<", "1:1.0"},
			{"1.0~rc1", "<", "1.0"},
			{"1.0~~", "<", "1.0~"},
			{"1.0-1", "<", "1.0-1+deb12u1"},
			{"7.88.1-10+deb12u5", "<", "7.88.1-10+deb12u15"},
			{"3.0.17-1~deb12u2", "<", "3.0.17-1"},
			{"1.0", "<", "1.0+b1"},
			{"1.0a", "<", "1.0+"},
			{"1.0", "<", "1.0.1"},
			{"0:1.0-1", "=", "1.0-1"},
			{"2.7.4+reloaded2-13ubuntu1", "<", "2.7.4+reloaded2-13+deb9u1"},
		},
		// apk-tools: suffixes _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p;
		// -rN is the package release.
		"Alpine": {
			{"1.2.3-r3", "<", "1.2.3-r4"},
			{"1.2.3_rc1-r0", "<", "1.2.3-r0"},
			{"1.2.3_alpha", "<", "1.2.3_beta"},
			{"1.2.3_beta", "<", "1.2.3_pre"},
			{"1.2.3_pre", "<", "1.2.3_rc"},
			{"1.2.3", "<", "1.2.3_p1"},
			{"1.2.3", "<", "1.2.3a"},
			{"1.9", "<", "1.10"},
			{"1.36.1-r29", "<", "1.36.1-r30"},
		},
		// rpmvercmp: epoch, then segments of digits (numeric, newer than letters) or letters;
		// "~" sorts before anything, "^" after the base but before the next version.
		"Red Hat": {
			{"2.0-1", "<", "1:1.0-1"},
			{"1.0-1.el9", "<", "1.0-1.el9_3"},
			{"1.0~rc1-1", "<", "1.0-1"},
			{"1.0-1", "<", "1.0^post1-1"},
			{"1.0^post1-1", "<", "1.0.1-1"},
			{"1.9-1", "<", "1.10-1"},
			{"1.0a-1", "<", "1.0.1-1"},
			{"1:3.0.7-24.el9", "<", "1:3.0.7-25.el9_3"},
		},
		// PEP 440: dev < pre (a < b < rc) < final < post; epochs; zero padding; local versions
		// above their public version.
		"PyPI": {
			{"1.0", "=", "1.0.0"},
			{"1.0.dev1", "<", "1.0a1"},
			{"1.0a1", "<", "1.0b1"},
			{"1.0b1", "<", "1.0rc1"},
			{"1.0rc1", "<", "1.0"},
			{"1.0", "<", "1.0.post1"},
			{"2.0", "<", "1!0.5"},
			{"1.0", "<", "1.0+local.1"},
			{"1.0.post1", "<", "1.1.dev0"},
			{"1.0RC1", "=", "1.0rc1"},
		},
		// SemVer 2.0.0 section 11, which npm, Go and crates.io follow.
		"npm": {
			{"1.0.0-alpha", "<", "1.0.0-alpha.1"},
			{"1.0.0-alpha.1", "<", "1.0.0-alpha.beta"},
			{"1.0.0-alpha.beta", "<", "1.0.0-beta"},
			{"1.0.0-beta.2", "<", "1.0.0-beta.11"},
			{"1.0.0-rc.1", "<", "1.0.0"},
			{"1.0.0+build.5", "=", "1.0.0"},
			{"4.17.15", "<", "4.17.21"},
			{"1.9.0", "<", "1.10.0"},
		},
		"Go": {
			{"0.0.0-20190620200207-3b0461eec859", "<", "0.0.0-20220906165146-f3363e06e74c"},
			{"0.0.0-20220906165146-f3363e06e74c", "<", "0.0.1"},
			{"1.19.0-0", "<", "1.19.0"},
			{"v0.3.0", "=", "0.3.0"},
		},
		"crates.io": {
			{"0.6.9", "<", "0.6.10"},
			{"1.0.0-beta.1", "<", "1.0.0"},
		},
		// Maven's ComparableVersion: alpha < beta < milestone < rc = cr < snapshot < release =
		// ga = final < sp; trailing zeros do not count.
		"Maven": {
			{"1.0-alpha-1", "<", "1.0-beta"},
			{"1.0-beta", "<", "1.0-milestone"},
			{"1.0-milestone", "<", "1.0-rc"},
			{"1.0-rc", "=", "1.0-cr"},
			{"1.0-rc", "<", "1.0-SNAPSHOT"},
			{"1.0-SNAPSHOT", "<", "1.0"},
			{"1.0", "=", "1.0-ga"},
			{"1.0", "=", "1.0.0"},
			{"1.0", "<", "1.0-sp"},
			{"2.14.1", "<", "2.15.0"},
			{"2.9", "<", "2.10"},
		},
		// RubyGems: a segment with a letter makes a prerelease.
		"RubyGems": {
			{"1.0.0.pre", "<", "1.0.0"},
			{"1.0.0.a", "<", "1.0.0.b"},
			{"1.0", "=", "1.0.0"},
			{"1.9", "<", "1.10"},
		},
		"NuGet": {
			{"1.0.0-beta", "<", "1.0.0"},
			{"1.0.0.0", "=", "1.0.0"},
		},
	}
	for eco, cases := range tests {
		p := newParser(eco)
		for _, c := range cases {
			a, err := p.parse(normalizeVersion(eco, "m", c.a))
			if err != nil {
				t.Errorf("%s: %q does not parse: %v", eco, c.a, err)
				continue
			}
			got, ok := p.compare(a, normalizeVersion(eco, "m", c.b))
			want := -1
			if c.op == "=" {
				want = 0
			}
			if !ok || got != want {
				t.Errorf("%s: compare(%q, %q) = %d (%v), want %s", eco, c.a, c.b, got, ok, c.op)
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Debian:12", "Debian:12"}, {"Debian:12.5", "Debian:12"}, {"Alpine:3.20.3", "Alpine:v3.20"},
		{"Alpine:v3.20", "Alpine:v3.20"}, {"Ubuntu:22.04", "Ubuntu:22.04:LTS"}, {"Ubuntu:23.10", "Ubuntu:23.10"},
		{"Ubuntu:22.04:LTS", "Ubuntu:22.04:LTS"}, {"Rocky Linux:9.3", "Rocky Linux:9"}, {"AlmaLinux:8.10", "AlmaLinux:8"}, {"npm", "npm"}, {"Red Hat:enterprise_linux:9::baseos", "Red Hat:enterprise_linux:9::baseos"},
	} {
		if got := normalizeEcosystem(tc.in); got != tc.want {
			t.Errorf("normalizeEcosystem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ name, in, want string }{
		{"stdlib", "go1.21.3", "1.21.3"}, {"stdlib", "go1.20", "1.20.0"}, {"stdlib", "go1.22rc1", "1.22.0-rc.1"},
		{"toolchain", "go1.21", "1.21.0"}, {"golang.org/x/net", "v0.1.0", "0.1.0"},
	} {
		if got := normalizeVersion("Go", tc.name, tc.in); got != tc.want {
			t.Errorf("normalizeVersion(Go, %s, %q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
	if got := normalizeName("PyPI", "Django_REST.framework"); got != "django-rest-framework" {
		t.Errorf("PEP 503: %q", got)
	}
}
