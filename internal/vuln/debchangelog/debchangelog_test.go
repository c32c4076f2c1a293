package debchangelog

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// A changelog in Debian's format (entries newest first), with a CVE mentioned again by a later
// regression fix, a CVE fixed in two entries, and a binNMU-style version.
const sample = `curl (7.88.1-10+deb12u13) bookworm; urgency=medium

  * debian/patches/fix-CVE-2023-27534-regression.patch: restore sftp://host/~

 -- Carlos <c@example.invalid>  Mon, 16 Jun 2025 20:56:01 -0300

curl (7.88.1-10+deb12u6) bookworm; urgency=medium

  * Fix CVE-2024-2398 and CVE-2024-2004.

 -- Samuel <s@example.invalid>  Sat, 06 Apr 2024 10:00:00 +0000

curl (7.88.1-10+deb12u1) bookworm-security; urgency=high

  * Fix CVE-2023-27534, CVE-2023-27533
    and CVE-2024-2398 (partial)

 -- Samuel <s@example.invalid>  Fri, 01 Mar 2023 10:00:00 +0000

curl (7.88.1-10) unstable; urgency=medium

  * Initial entry.

 -- Samuel <s@example.invalid>  Thu, 01 Feb 2023 10:00:00 +0000
`

func TestParseAndRecords(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(sample))
	zw.Close()
	for name, in := range map[string][]byte{"plain": []byte(sample), "gzip": gz.Bytes()} {
		entries, err := Parse(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(entries) != 4 || entries[0].Version != "7.88.1-10+deb12u13" || entries[2].Distribution != "bookworm-security" ||
			strings.Join(entries[2].CVEs, ",") != "CVE-2023-27534,CVE-2023-27533,CVE-2024-2398" || entries[1].Date != "Sat, 06 Apr 2024 10:00:00 +0000" {
			t.Fatalf("%s: %+v", name, entries)
		}
		recs, err := Records("Debian:12", "curl_test.deb", entries)
		if err != nil {
			t.Fatal(err)
		}
		fixed := map[string]string{}
		for _, r := range recs {
			if r.ID != "DEBIAN-"+r.Aliases[0] || len(r.Affected) != 1 || r.Affected[0].Package.Name != "curl" || r.Affected[0].Package.Ecosystem != "Debian:12" {
				t.Errorf("record %+v", r)
			}
			fixed[r.Aliases[0]] = r.Affected[0].Ranges[0].Events[1].Fixed
		}
		want := map[string]string{
			"CVE-2023-27533": "7.88.1-10+deb12u1",
			"CVE-2023-27534": "7.88.1-10+deb12u1", // the later regression fix does not move it
			"CVE-2024-2398":  "7.88.1-10+deb12u1", // the oldest mention wins
			"CVE-2024-2004":  "7.88.1-10+deb12u6",
		}
		if len(fixed) != len(want) {
			t.Errorf("%s: %v", name, fixed)
		}
		for c, v := range want {
			if fixed[c] != v {
				t.Errorf("%s: %s fixed %q, want %q", name, c, fixed[c], v)
			}
		}
	}
}

func TestParseRefuses(t *testing.T) {
	if _, err := Parse(strings.NewReader("no entries here\n")); err == nil {
		t.Error("text without entries accepted")
	}
	if _, err := Parse(strings.NewReader(strings.Repeat("x\n", MaxBytes/2+1))); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized changelog: %v", err)
	}
	entries := []Entry{{Source: "p", Version: "not a version!", CVEs: []string{"CVE-2020-0001"}}}
	if _, err := Records("Debian:12", "x", entries); err == nil {
		t.Error("bad version accepted")
	}
}

func TestMerge(t *testing.T) {
	a, _ := Records("Debian:12", "a", []Entry{{Source: "openssl", Version: "3.0.1-1", CVEs: []string{"CVE-2024-0001"}}})
	b, _ := Records("Debian:12", "b", []Entry{{Source: "curl", Version: "7.0-1", CVEs: []string{"CVE-2024-0001", "CVE-2024-0002"}}})
	m := Merge(a, b)
	if len(m) != 2 || len(m[0].Affected) != 2 || m[1].ID != "DEBIAN-CVE-2024-0002" {
		t.Errorf("merge: %+v", m)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("a (1) b;\n -- x  y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		Records("Debian:12", "fuzz", entries)
	})
}
