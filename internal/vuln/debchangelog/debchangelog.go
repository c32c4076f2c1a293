// Package debchangelog derives OSV records from Debian changelogs: for every CVE a
// changelog.Debian entry mentions, the source package is affected from the beginning and fixed
// in the oldest version whose entry mentions the CVE. No Debian package ships security-tracker
// data, but every newer package version carries the history of the fixes made to it, so this
// gives real, checkable fix data for tests and for air-gapped demonstrations. It knows only
// fixed CVEs: unfixed ones and severities are not in changelogs.
package debchangelog

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"

	"redoubt.dev/redoubt/internal/vuln"
)

// MaxBytes caps a decompressed changelog; the longest real ones are around 1 MiB.
const MaxBytes = 16 << 20

// Entry is one version's entry in a changelog.
type Entry struct {
	Source       string
	Version      string
	Distribution string
	// CVEs are the CVE IDs the entry mentions, in order of first mention.
	CVEs []string
	// Date is the trailer's date, as written.
	Date string
}

var (
	header  = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+) \(([^() \t]+)\) ([^;]*);`)
	trailer = regexp.MustCompile(`^ -- .*?  (.+)$`)
	cveID   = regexp.MustCompile(`CVE-\d{4}-\d{4,7}`)
	// debVersion is Debian Policy 5.6.12's shape: [epoch:]upstream[-revision], upstream
	// starting with a digit.
	debVersion = regexp.MustCompile(`^(\d+:)?\d[A-Za-z0-9.+~:-]*$`)
)

// Parse reads a changelog (plain or gzip-compressed, as /usr/share/doc/*/changelog.Debian.gz).
func Parse(r io.Reader) ([]Entry, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("changelog: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	sc := bufio.NewScanner(io.LimitReader(br, MaxBytes+1))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []Entry
	var cur *Entry
	read := 0
	for sc.Scan() {
		line := sc.Text()
		if read += len(line) + 1; read > MaxBytes {
			return nil, fmt.Errorf("changelog: more than %d bytes", MaxBytes)
		}
		if m := header.FindStringSubmatch(line); m != nil {
			out = append(out, Entry{Source: m[1], Version: m[2], Distribution: strings.TrimSpace(m[3])})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := trailer.FindStringSubmatch(line); m != nil {
			cur.Date = m[1]
			continue
		}
		for _, id := range cveID.FindAllString(line, -1) {
			if !slices.Contains(cur.CVEs, id) {
				cur.CVEs = append(cur.CVEs, id)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("changelog: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("changelog: no entry (want lines like \"curl (7.88.1-10+deb12u5) bookworm-security; urgency=medium\")")
	}
	return out, nil
}

// Records turns changelog entries into one OSV record per CVE, for the ecosystem given
// ("Debian:12"). Each record's ID is DEBIAN-<CVE>, as osv.dev names its Debian records, with the
// CVE as alias; a CVE mentioned by several source packages gets one affected entry per package.
// from names where the entries were read, for the record's details.
func Records(ecosystem, from string, entries []Entry) ([]vuln.Record, error) {
	type fix struct{ source, version string }
	oldest := map[string]map[string]string{} // CVE -> source -> oldest version
	var order []string
	for _, e := range entries {
		if !debVersion.MatchString(e.Version) {
			return nil, fmt.Errorf("%s %q: not a Debian version", e.Source, e.Version)
		}
		if _, err := semantic.ParseDebianVersion(e.Version); err != nil {
			return nil, fmt.Errorf("%s %s: version: %w", e.Source, e.Version, err)
		}
		for _, c := range e.CVEs {
			if oldest[c] == nil {
				oldest[c] = map[string]string{}
				order = append(order, c)
			}
			prev, ok := oldest[c][e.Source]
			if !ok || less(e.Version, prev) {
				oldest[c][e.Source] = e.Version
			}
		}
	}
	slices.Sort(order)
	var out []vuln.Record
	for _, c := range order {
		r := vuln.Record{
			SchemaVersion: "1.6.0", ID: "DEBIAN-" + c, Aliases: []string{c},
			Modified: "2026-01-01T00:00:00Z",
			// No summary: a changelog says that a CVE was fixed, not what it is (the message
			// of a finding already says which version fixes it).
			Details: "Derived from " + from + ": the oldest changelog entry that mentions " + c + " is taken as its fix. Changelogs name fixed CVEs only.",
		}
		sources := make([]string, 0, len(oldest[c]))
		for s := range oldest[c] {
			sources = append(sources, s)
		}
		slices.Sort(sources)
		for _, s := range sources {
			r.Affected = append(r.Affected, vuln.Affected{
				Package: vuln.Package{Ecosystem: ecosystem, Name: s},
				Ranges: []vuln.Range{{Type: vuln.RangeEcosystem, Events: []vuln.Event{
					{Introduced: "0"}, {Fixed: oldest[c][s]},
				}}},
			})
		}
		out = append(out, r)
	}
	return out, nil
}

func less(a, b string) bool {
	va, err := semantic.ParseDebianVersion(a)
	if err != nil {
		return false
	}
	c, err := va.CompareStr(b)
	return err == nil && c < 0
}

// Merge combines the records of several changelogs: records of the same CVE get one affected
// entry per source package.
func Merge(sets ...[]vuln.Record) []vuln.Record {
	byID := map[string]*vuln.Record{}
	var ids []string
	for _, set := range sets {
		for _, r := range set {
			if have, ok := byID[r.ID]; ok {
				have.Affected = append(have.Affected, r.Affected...)
				continue
			}
			rc := r
			byID[r.ID] = &rc
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	out := make([]vuln.Record, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byID[id])
	}
	return out
}
