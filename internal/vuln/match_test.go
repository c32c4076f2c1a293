package vuln

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/osv-scalibr/semantic"

	"redoubt.dev/redoubt/internal/finding"
)

// byIndex groups matches per input package, as "ID fixed severity" strings.
func byIndex(ms []Match) map[int][]string {
	out := map[int][]string{}
	for _, m := range ms {
		out[m.Index] = append(out[m.Index], m.ID+" "+cmpOr(m.Fixed, "-")+" "+m.Severity.String())
	}
	return out
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// TestMatchRealGoAndGHSA matches against the whole Go vulnerability database and the GHSA
// records: exact results for packages whose advisories are known.
func TestMatchRealGoAndGHSA(t *testing.T) {
	d := buildDB(t, map[string][]string{"Go": goVulnDBFiles(t), "npm": ghsaFiles(t)})
	pkgs := []Package{
		0: {Ecosystem: "npm", Name: "lodash", Version: "4.17.15"},
		1: {Ecosystem: "npm", Name: "lodash", Version: "4.17.20"},
		2: {Ecosystem: "npm", Name: "lodash", Version: "4.17.21"},
		3: {Ecosystem: "npm", Name: "minimist", Version: "1.2.5"},
		4: {Ecosystem: "npm", Name: "minimist", Version: "0.2.3"},
		5: {Ecosystem: "npm", Name: "minimist", Version: "0.2.4"},
		6: {Ecosystem: "npm", Name: "lodash-es", Version: "4.17.15"},
		7: {Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.0"},
		8: {Ecosystem: "Go", Name: "stdlib", Version: "go1.18.2"},
		9: {Ecosystem: "Go", Name: "golang.org/x/net", Version: "v0.0.0-20190620200207-3b0461eec859"},
	}
	ms, err := d.Match(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	got := byIndex(ms)
	want := map[int][]string{
		0: {"CVE-2020-8203 4.17.20 high", "CVE-2021-23337 4.17.21 high"},
		1: {"CVE-2021-23337 4.17.21 high"},
		3: {"CVE-2021-44906 1.2.6 critical"},
		4: {"CVE-2021-44906 0.2.4 critical"},
		6: {"CVE-2020-8203 4.17.20 high", "CVE-2021-23337 4.17.21 high"},
	}
	for i := 0; i <= 6; i++ {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("%v: got %v, want %v", pkgs[i], got[i], want[i])
		}
	}
	// x/text v0.3.0: the three classic advisories, each merged with its GHSA and CVE.
	for _, w := range []string{"CVE-2020-14040 0.3.3 unknown", "CVE-2021-38561 0.3.7 unknown", "CVE-2022-32149 0.3.8 unknown"} {
		if !slices.Contains(got[7], w) {
			t.Errorf("x/text v0.3.0: %q missing from %v", w, got[7])
		}
	}
	for _, m := range ms {
		if m.Index == 7 && m.ID == "CVE-2020-14040" {
			if !slices.Equal(m.Aliases, []string{"GHSA-5rcv-m4m3-hfh7", "GO-2020-0015"}) || m.SeveritySource != "unrated" {
				t.Errorf("CVE-2020-14040: aliases %v, severity source %q", m.Aliases, m.SeveritySource)
			}
		}
		if m.Index == 0 && m.ID == "CVE-2021-23337" {
			if m.CVSS != "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" || !slices.Equal(m.Aliases, []string{"GHSA-35jh-r3h4-6jhm"}) {
				t.Errorf("CVE-2021-23337: %+v", m)
			}
		}
	}
	// go1.18.2 has HTTP/2's GO-2022-0969, fixed in 1.18.6 on its own release line.
	if !slices.Contains(got[8], "CVE-2022-27664 1.18.6 unknown") {
		t.Errorf("stdlib go1.18.2: CVE-2022-27664 fixed in 1.18.6 missing from %d matches", len(got[8]))
	}
	if !slices.Contains(got[9], "CVE-2022-27664 0.0.0-20220906165146-f3363e06e74c unknown") {
		t.Errorf("x/net pseudo-version: GO-2022-0969 missing: %v", got[9])
	}
	// Every x/text match must be one a record supports: check each against its record.
	for _, m := range ms {
		if m.Index != 7 {
			continue
		}
		found := false
		for _, id := range append([]string{m.ID}, m.Aliases...) {
			if b, err := os.ReadFile(filepath.Join(goVulnDB.dir, id+".json")); err == nil && bytes.Contains(b, []byte(`"golang.org/x/text"`)) {
				found = true
			}
		}
		if !found {
			t.Errorf("x/text match %s (%v) names no Go record about golang.org/x/text", m.ID, m.Aliases)
		}
	}
}

// TestMatchRealDebian checks records derived from the newest curl, openssl and perl changelogs
// against older installed versions: every CVE fixed after the installed version matches, with
// the first version that fixed it, and none fixed at or before it.
func TestMatchRealDebian(t *testing.T) {
	zipPath, debs := debianExport(t)
	d := buildDB(t, map[string][]string{"Debian": zipFiles(t, zipPath)})
	cases := []struct {
		deb       string // changelog to compute the expectation from
		source    string
		installed string
		atLeast   int
	}{
		{"curl_*.deb", "curl", "7.88.1-10+deb12u5", 14},
		{"libssl3_*.deb", "openssl", "3.0.17-1~deb12u2", 30},
		{"perl-base_*.deb", "perl", "5.36.0-7+deb12u3", 1},
	}
	var pkgs []Package
	for _, c := range cases {
		pkgs = append(pkgs, Package{Ecosystem: "Debian:12", Name: c.source, Version: c.installed})
	}
	ms, err := d.Match(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]map[string]string{}
	for _, m := range ms {
		if got[m.Index] == nil {
			got[m.Index] = map[string]string{}
		}
		got[m.Index][m.ID] = m.Fixed
	}
	for i, c := range cases {
		want := expectedFromChangelog(t, filepath.Join(debs, c.deb), c.installed)
		if len(want) < c.atLeast {
			t.Errorf("%s: only %d CVEs fixed after %s in the changelog", c.source, len(want), c.installed)
		}
		t.Logf("%s %s: the changelog names %d CVEs fixed later; %d matched", c.source, c.installed, len(want), len(got[i]))
		if len(got[i]) != len(want) {
			t.Errorf("%s %s: %d matches, the changelog says %d CVEs were fixed later", c.source, c.installed, len(got[i]), len(want))
		}
		for cve, fixed := range want {
			if got[i][cve] != fixed {
				t.Errorf("%s %s: %s fixed %q, want %q", c.source, c.installed, cve, got[i][cve], fixed)
			}
		}
	}
	// The newest version has nothing left, and an older release's ecosystem has no data.
	ms, err = d.Match(context.Background(), []Package{{Ecosystem: "Debian:11", Name: "curl", Version: "7.74.0-1.3+deb11u1"}, {Ecosystem: "Debian:12", Name: "curl", Version: "7.88.1-10+deb12u15"}})
	if err != nil || len(ms) != 0 {
		t.Errorf("curl u15 and Debian 11: %v %v", ms, err)
	}
}

// expectedFromChangelog reads the .deb's changelog directly: the CVEs whose first mention is
// in an entry newer than installed, with that entry's version.
func expectedFromChangelog(t *testing.T, glob, installed string) map[string]string {
	t.Helper()
	m, _ := filepath.Glob(glob)
	if len(m) != 1 {
		t.Fatalf("%s: no .deb", glob)
	}
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", m[0]).Output()
	if err != nil {
		t.Skipf("dpkg-deb: %v", err)
	}
	name := strings.SplitN(filepath.Base(m[0]), "_", 2)[0]
	zr, err := gzip.NewReader(bytes.NewReader(tarMember(t, out, "./usr/share/doc/"+name+"/changelog.Debian.gz")))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// An oracle independent of package debchangelog: entry headers and CVE mentions, read with
	// two regular expressions.
	header := regexp.MustCompile(`^\S+ \(([^)]+)\) `)
	cve := regexp.MustCompile(`CVE-\d{4}-\d{4,7}`)
	iv, _ := semantic.ParseDebianVersion(installed)
	first := map[string]string{}
	version := ""
	for _, line := range strings.Split(string(text), "\n") { // newest first: the last seen is the oldest mention
		if m := header.FindStringSubmatch(line); m != nil {
			version = m[1]
			continue
		}
		for _, c := range cve.FindAllString(line, -1) {
			first[c] = version
		}
	}
	want := map[string]string{}
	for c, v := range first {
		if cmp, _ := iv.CompareStr(v); cmp < 0 {
			want[c] = v
		}
	}
	return want
}

// TestEcosystemWithoutDataDoesNotStopOthers is the osv-scalibr failure in reverse: packages of
// ecosystems with no data, and packages with unreadable versions, sorted before the others,
// must not stop the others from matching.
func TestEcosystemWithoutDataDoesNotStopOthers(t *testing.T) {
	d := buildDB(t, map[string][]string{"npm": ghsaFiles(t)})
	pkgs := []Package{
		{Ecosystem: "Alpine:v3.20", Name: "busybox", Version: "1.36.1-r29"},
		{Ecosystem: "crates.io", Name: "smallvec", Version: "0.6.0"},
		{Ecosystem: "Unknown Ecosystem", Name: "x", Version: "1"},
		{Ecosystem: "npm", Name: "lodash", Version: "not a version at all ~~"},
		{Ecosystem: "npm", Name: "lodash", Version: "4.17.15"},
		{Ecosystem: "PyPI", Name: "requests", Version: "2.0.0"},
		{Ecosystem: "npm", Name: "minimist", Version: "1.2.5"},
	}
	ms, err := d.Match(context.Background(), pkgs)
	var verr *VersionError
	if err != nil && !errors.As(err, &verr) {
		t.Fatalf("Match: %v", err)
	}
	got := byIndex(ms)
	if len(got[4]) != 2 || len(got[6]) != 1 || len(got) != 2 {
		t.Errorf("matches: %v", got)
	}
	if d.Covers("Alpine:v3.20") || !d.Covers("npm") {
		t.Errorf("Covers: Alpine %v npm %v", d.Covers("Alpine:v3.20"), d.Covers("npm"))
	}
}

// rec builds an OSV record for the synthetic cases.
func rec(id, body string) string {
	return `{"id":"` + id + `","modified":"2024-01-01T00:00:00Z",` + body + `}`
}

// TestRangeSemantics covers each part of the OSV evaluation algorithm on small records.
func TestRangeSemantics(t *testing.T) {
	d := buildDB(t, map[string][]string{"mixed": writeRecords(t,
		rec("TEST-LAST", `"affected":[{"package":{"ecosystem":"PyPI","name":"Last_Affected.Pkg"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"last_affected":"1.4"}]}]}]`),
		rec("TEST-LIMIT", `"affected":[{"package":{"ecosystem":"npm","name":"limited"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"limit":"2.0.0"}]}]}]`),
		rec("TEST-MULTI", `"affected":[{"package":{"ecosystem":"npm","name":"multi"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.2"},{"introduced":"3.0.0"},{"introduced":"1.0.0"},{"fixed":"3.2.5"}]}]}]`),
		rec("TEST-VERSIONS", `"affected":[{"package":{"ecosystem":"PyPI","name":"listed"},"versions":["1.0","2.5"],"ranges":[{"type":"GIT","repo":"https://example.invalid/r","events":[{"introduced":"0"}]}]}]`),
		rec("TEST-GITONLY", `"affected":[{"package":{"ecosystem":"npm","name":"gitonly"},"ranges":[{"type":"GIT","repo":"https://example.invalid/r","events":[{"introduced":"0"}]}]}]`),
		rec("TEST-WITHDRAWN", `"withdrawn":"2024-02-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"multi"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]`),
		rec("TEST-UNFIXED", `"affected":[{"package":{"ecosystem":"Debian:12","name":"tilde"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1:2.0~rc1-1"}]}]}]`),
		rec("TEST-DEB", `"affected":[{"package":{"ecosystem":"Debian:12","name":"tilde"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:2.0-1"}]}]}]`),
		rec("TEST-ALPINE", `"affected":[{"package":{"ecosystem":"Alpine:v3.20","name":"apk-pkg"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.3-r4"}]}]}]`),
		rec("TEST-UBUNTU", `"affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":"ubu"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0-1ubuntu1"}]}]}]`),
		rec("TEST-PKGSEV", `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Maven","name":"org.example:lib"},"ecosystem_specific":{"severity":"LOW"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]`),
		rec("TEST-SEMVER-PRE", `"affected":[{"package":{"ecosystem":"Go","name":"example.com/pre"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.2.0-0"},{"fixed":"1.2.0"}]}]}]`),
	)})
	tests := []struct {
		pkg  Package
		want []string
	}{
		{Package{Ecosystem: "PyPI", Name: "last-affected-pkg", Version: "1.4"}, []string{"TEST-LAST - unknown"}},
		{Package{Ecosystem: "PyPI", Name: "LAST_affected.pkg", Version: "1.4.0"}, []string{"TEST-LAST - unknown"}},
		{Package{Ecosystem: "PyPI", Name: "last-affected-pkg", Version: "1.4.1"}, nil},
		{Package{Ecosystem: "PyPI", Name: "last-affected-pkg", Version: "0.9"}, nil},
		{Package{Ecosystem: "npm", Name: "limited", Version: "1.9.9"}, []string{"TEST-LIMIT - unknown"}},
		{Package{Ecosystem: "npm", Name: "limited", Version: "2.0.0"}, nil},
		{Package{Ecosystem: "npm", Name: "multi", Version: "0.9.0"}, nil},
		{Package{Ecosystem: "npm", Name: "multi", Version: "1.0.1"}, []string{"TEST-MULTI 1.0.2 unknown"}},
		{Package{Ecosystem: "npm", Name: "multi", Version: "1.0.2"}, nil},
		{Package{Ecosystem: "npm", Name: "multi", Version: "3.2.4"}, []string{"TEST-MULTI 3.2.5 unknown"}},
		{Package{Ecosystem: "npm", Name: "multi", Version: "3.2.5"}, nil},
		{Package{Ecosystem: "PyPI", Name: "listed", Version: "2.5.0"}, []string{"TEST-VERSIONS - unknown"}},
		{Package{Ecosystem: "PyPI", Name: "listed", Version: "2.4"}, nil},
		{Package{Ecosystem: "npm", Name: "gitonly", Version: "1.0.0"}, nil},
		{Package{Ecosystem: "Debian:12", Name: "tilde", Version: "1:2.0~rc1-1"}, []string{"TEST-DEB 1:2.0-1 unknown", "TEST-UNFIXED - unknown"}},
		{Package{Ecosystem: "Debian:12.4", Name: "tilde", Version: "1:2.0~rc0-1"}, []string{"TEST-DEB 1:2.0-1 unknown"}},
		{Package{Ecosystem: "Debian:12", Name: "tilde", Version: "2.5-1"}, []string{"TEST-DEB 1:2.0-1 unknown"}}, // epoch 0 < epoch 1
		{Package{Ecosystem: "Debian:12", Name: "tilde", Version: "1:2.0-1"}, []string{"TEST-UNFIXED - unknown"}},
		{Package{Ecosystem: "Alpine:3.20.3", Name: "apk-pkg", Version: "1.2.3-r3"}, []string{"TEST-ALPINE 1.2.3-r4 unknown"}},
		{Package{Ecosystem: "Alpine:v3.20", Name: "apk-pkg", Version: "1.2.3_rc1-r9"}, []string{"TEST-ALPINE 1.2.3-r4 unknown"}},
		{Package{Ecosystem: "Alpine:v3.20", Name: "apk-pkg", Version: "1.2.3-r4"}, nil},
		{Package{Ecosystem: "Alpine:v3.19", Name: "apk-pkg", Version: "1.0-r0"}, nil},
		{Package{Ecosystem: "Ubuntu:22.04", Name: "ubu", Version: "2.0-1"}, []string{"TEST-UBUNTU 2.0-1ubuntu1 unknown"}},
		{Package{Ecosystem: "Maven", Name: "org.example:lib", Version: "1.9"}, []string{"TEST-PKGSEV 2.0.0 low"}},
		{Package{Ecosystem: "Go", Name: "example.com/pre", Version: "v1.2.0-rc.1"}, []string{"TEST-SEMVER-PRE 1.2.0 unknown"}},
		{Package{Ecosystem: "Go", Name: "example.com/pre", Version: "v1.1.9"}, nil},
	}
	for _, tc := range tests {
		ms, err := d.Match(context.Background(), []Package{tc.pkg})
		if err != nil {
			t.Errorf("%v: %v", tc.pkg, err)
			continue
		}
		if got := byIndex(ms)[0]; !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.pkg, got, tc.want)
		}
		for _, m := range ms {
			if m.ID == "TEST-WITHDRAWN" || m.Withdrawn {
				t.Errorf("%v: withdrawn record matched", tc.pkg)
			}
		}
	}
	if s := d.Status(); s.Withdrawn != 1 || s.Vulnerabilities != 11 {
		t.Errorf("status: %d vulnerabilities, %d withdrawn", s.Vulnerabilities, s.Withdrawn)
	}
}

// TestAliasMerging: a GO record and a GHSA record of one vulnerability are one match, named by
// its CVE, with the GHSA's CVSS severity; the lower of two fixes is not enough.
func TestAliasMerging(t *testing.T) {
	d := buildDB(t, map[string][]string{
		"Go": writeRecords(t,
			rec("GO-2099-0001", `"aliases":["CVE-2099-1000","GHSA-aaaa-bbbb-cccc"],"summary":"from Go","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]`),
			rec("GHSA-aaaa-bbbb-cccc", `"aliases":["CVE-2099-1000"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.0"}]}]}]`),
			rec("GO-2099-0002", `"aliases":["CVE-2099-2000"],"affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]`),
			rec("GO-2099-0003", `"aliases":["CVE-2099-3000","CVE-2099-3001"],"affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]`),
		),
		// A record of the same CVE in another ecosystem rates the unrated GO-2099-0002.
		"PyPI": writeRecords(t,
			rec("GHSA-dddd-eeee-ffff", `"aliases":["CVE-2099-2000","GO-2099-0002"],"database_specific":{"severity":"HIGH"},"affected":[{"package":{"ecosystem":"PyPI","name":"other"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]`),
		),
	})
	ms, err := d.Match(context.Background(), []Package{{Ecosystem: "Go", Name: "example.com/m", Version: "v1.1.0"}})
	if err != nil {
		t.Fatal(err)
	}
	got := byIndex(ms)[0]
	want := []string{"CVE-2099-1000 1.3.0 critical", "CVE-2099-2000 1.2.0 high", "GO-2099-0003 - unknown"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !slices.Equal(ms[0].Aliases, []string{"GHSA-aaaa-bbbb-cccc", "GO-2099-0001"}) || ms[0].Summary != "from Go" {
		t.Errorf("merged: %+v", ms[0])
	}
	if !strings.HasPrefix(ms[1].SeveritySource, "alias GHSA-dddd-eeee-ffff") {
		t.Errorf("alias rating source %q", ms[1].SeveritySource)
	}
	if ms[2].SeveritySource != "unrated" || ms[2].Severity != finding.Unknown || !slices.Equal(ms[2].Aliases, []string{"CVE-2099-3000", "CVE-2099-3001"}) {
		t.Errorf("two CVEs keep the record ID: %+v", ms[2])
	}
	if v := ms[0].Vulnerability(Package{Ecosystem: "Go", Name: "example.com/m", Version: "v1.1.0"}); !v.Fixable || v.FixedVersion != "1.3.0" || v.ID != "CVE-2099-1000" {
		t.Errorf("Vulnerability: %+v", v)
	}
}

// TestConcurrentMatch: one DB serves many scans at once (the server scans images in parallel).
func TestConcurrentMatch(t *testing.T) {
	d := buildDB(t, map[string][]string{"Go": goVulnDBFiles(t), "npm": ghsaFiles(t)})
	pkgs := []Package{{Ecosystem: "npm", Name: "lodash", Version: "4.17.15"}, {Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.0"}, {Ecosystem: "Go", Name: "stdlib", Version: "go1.20.1"}}
	want, err := d.Match(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := d.Match(context.Background(), pkgs)
			if err == nil && len(got) != len(want) {
				err = errors.New("different results")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
