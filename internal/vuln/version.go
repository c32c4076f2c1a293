package vuln

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// Package is an installed package to match: the OSV ecosystem (with its release where the
// ecosystem has them: "Debian:12", "Alpine:v3.20"), the name as that ecosystem spells it (the
// source package for Debian and Ubuntu, the module path for Go, group:artifact for Maven) and
// the installed version.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	// OS and Arch are the platform the package was built for, in Go's GOOS and GOARCH names,
	// when known: records limited to other platforms (a Windows-only Go vulnerability) do not
	// match it. Empty matches records of every platform.
	OS   string `json:"os,omitempty"`
	Arch string `json:"arch,omitempty"`
}

// Ecosystem returns the ecosystem without its release: "Debian" for "Debian:12".
func Ecosystem(ecosystem string) string {
	base, _, _ := strings.Cut(ecosystem, ":")
	return base
}

var (
	alpineRelease = regexp.MustCompile(`^v?(\d+)\.(\d+)`)
	ubuntuRelease = regexp.MustCompile(`^(\d\d)\.(\d\d)`)
)

// normalizeEcosystem spells an ecosystem as OSV data does, so that what an image's os-release
// says finds the records: "Debian:12.5" is "Debian:12" (likewise Rocky Linux and AlmaLinux), "Alpine:3.20.3" is "Alpine:v3.20",
// "Ubuntu:22.04" is "Ubuntu:22.04:LTS" (even years' April releases are LTS).
func normalizeEcosystem(e string) string {
	e = strings.TrimSpace(e)
	base, release, ok := strings.Cut(e, ":")
	if !ok || release == "" {
		return e
	}
	switch base {
	case "Debian", "Rocky Linux", "AlmaLinux":
		// Their OSV data is scoped by major release: "Rocky Linux:9".
		major, _, _ := strings.Cut(release, ".")
		return base + ":" + major
	case "Alpine":
		if m := alpineRelease.FindStringSubmatch(release); m != nil {
			return base + ":v" + m[1] + "." + m[2]
		}
	case "Ubuntu":
		if m := ubuntuRelease.FindStringSubmatch(release); m != nil && !strings.Contains(release, ":") {
			if m[2] == "04" && (m[1][1]-'0')%2 == 0 {
				return base + ":" + m[0] + ":LTS"
			}
			return base + ":" + m[0]
		}
	}
	return e
}

var pypiSeparators = regexp.MustCompile(`[-_.]+`)

// normalizeName spells a package name as the ecosystem's index compares it: PyPI names are
// normalised per PEP 503; every other ecosystem's names are compared exactly.
func normalizeName(ecosystem, name string) string {
	if Ecosystem(ecosystem) == "PyPI" {
		return pypiSeparators.ReplaceAllString(strings.ToLower(name), "-")
	}
	return name
}

var goRelease = regexp.MustCompile(`^go(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:rc|beta)\d+)?$`)

// normalizeVersion spells an installed version as OSV data does. Go module versions lose their
// "v"; Go toolchain versions ("go1.21.3", "go1.22rc1") become the SemVer the Go vulnerability
// database uses ("1.21.3", "1.22.0-rc.1").
func normalizeVersion(ecosystem, name, v string) string {
	v = strings.TrimSpace(v)
	if Ecosystem(ecosystem) != "Go" {
		return v
	}
	if m := goRelease.FindStringSubmatch(v); m != nil && (name == "stdlib" || name == "toolchain") {
		minor, patch := cmp.Or(m[2], "0"), cmp.Or(m[3], "0")
		if m[1] == "1" && m[2] != "" && m[3] == "" && m[4] == "" && minorBefore21(m[2]) {
			// Before Go 1.21 the first release of a line was "go1.20", i.e. 1.20.0.
			patch = "0"
		}
		out := m[1] + "." + minor + "." + patch
		if pre := m[4]; pre != "" {
			i := strings.IndexAny(pre, "0123456789")
			out += "-" + pre[:i] + "." + pre[i:]
		}
		return out
	}
	return strings.TrimPrefix(v, "v")
}

func minorBefore21(minor string) bool { return len(minor) < 2 || minor < "21" }

// version is a parsed version of one ordering (an ecosystem's, or SemVer's).
type version = semantic.Version

// parser turns strings into versions of one ordering, caching what it has parsed.
type parser struct {
	ordering string // an ecosystem name, or RangeSemver
	cache    map[string]version
	bad      map[string]error
}

func newParser(ordering string) *parser {
	return &parser{ordering: ordering, cache: map[string]version{}, bad: map[string]error{}}
}

// semverLike is what a version of a SemVer-ordered ecosystem must look like before the lenient
// SemVer parser sees it: "not a version" would otherwise read as 0.0.0 and match everything.
var semverLike = regexp.MustCompile(`^v?\d+(\.\d+)*([-+~._a-zA-Z0-9]*)$`)

// semverOrdered are the ecosystems whose versions osv-scalibr reads as SemVer.
var semverOrdered = map[string]bool{RangeSemver: true, "npm": true, "Go": true, "crates.io": true, "Hex": true,
	"Bitnami": true, "Julia": true, "SwiftURL": true, "ConanCenter": true, "GHC": true, "Bioconductor": true}

func (p *parser) parse(s string) (version, error) {
	if v, ok := p.cache[s]; ok {
		return v, nil
	}
	if err, ok := p.bad[s]; ok {
		return nil, err
	}
	var v version
	var err error
	if semverOrdered[p.ordering] && !semverLike.MatchString(s) {
		err = fmt.Errorf("%w: %q does not look like a SemVer version", semantic.ErrInvalidVersion, s)
		p.bad[s] = err
		return nil, err
	}
	if p.ordering == RangeSemver {
		v = semantic.ParseSemverVersion(s)
	} else {
		v, err = semantic.Parse(s, p.ordering)
	}
	if err != nil {
		p.bad[s] = err
		return nil, err
	}
	p.cache[s] = v
	return v, nil
}

// compare orders a and b, reporting false when either cannot be parsed or compared.
func (p *parser) compare(a version, b string) (int, bool) {
	bv, err := p.parse(b)
	if err != nil {
		return 0, false
	}
	c, err := a.Compare(bv)
	return c, err == nil
}

// verdict is the outcome of evaluating one affected entry against one installed version.
type verdict struct {
	affected bool
	// fixed is the first fixed version above the installed one, in the range that made it
	// affected; "" when there is none (unfixed, or only last_affected is known).
	fixed string
	// unparsed counts events skipped because their version could not be read.
	unparsed int
}

// sortedEvent is an event with its parsed version.
type sortedEvent struct {
	Event
	v    version
	zero bool // introduced: "0", before every version
}

// evaluate implements the OSV schema's IsVulnerable for one affected entry: the versions list,
// then every SEMVER and ECOSYSTEM range, each walked in version order with its limits applied.
func evaluate(installed string, a *affectedData, eco *parser, sem *parser) verdict {
	var out verdict
	for _, r := range a.Ranges {
		p := eco
		switch r.Type {
		case RangeSemver:
			p = sem
		case RangeEcosystem:
		default:
			continue // GIT ranges need the repository's commit graph
		}
		v, err := p.parse(installed)
		if err != nil {
			continue
		}
		affected, fixed, skipped := inRange(v, r.Events, p)
		out.unparsed += skipped
		if !affected {
			continue
		}
		switch {
		case !out.affected:
			out.fixed = fixed
		case fixed == "" || out.fixed == "":
			// One range knows no fix: upgrading to the other's fix is not enough.
			out.fixed = ""
		default:
			if fv, err := p.parse(fixed); err == nil {
				if c, ok := p.compare(fv, out.fixed); ok && c > 0 {
					out.fixed = fixed
				}
			}
		}
		out.affected = true
	}
	if !out.affected && inVersions(installed, a.Versions, eco) {
		out.affected = true
		out.fixed = ""
	}
	return out
}

// inRange walks one range's events in version order. It returns whether v is affected and,
// if so, the fixed event that ends the affected stretch v is in.
func inRange(v version, events []Event, p *parser) (affected bool, fixed string, skipped int) {
	sorted := make([]sortedEvent, 0, len(events))
	var limits []version
	for _, e := range events {
		s := cmp.Or(e.Introduced, e.Fixed, e.LastAffected, e.Limit)
		if e.Introduced == "0" {
			sorted = append(sorted, sortedEvent{Event: e, zero: true})
			continue
		}
		if e.Limit == "*" {
			limits = append(limits, nil)
			continue
		}
		pv, err := p.parse(s)
		if err != nil {
			skipped++
			continue
		}
		if e.Limit != "" {
			limits = append(limits, pv)
			continue
		}
		sorted = append(sorted, sortedEvent{Event: e, v: pv})
	}
	if len(limits) > 0 && !slices.ContainsFunc(limits, func(l version) bool {
		if l == nil {
			return true
		}
		c, err := v.Compare(l)
		return err == nil && c < 0
	}) {
		return false, "", skipped
	}
	slices.SortStableFunc(sorted, func(a, b sortedEvent) int {
		switch {
		case a.zero && b.zero:
			return 0
		case a.zero:
			return -1
		case b.zero:
			return 1
		}
		c, _ := a.v.Compare(b.v)
		return c
	})
	idx := -1
	for i, e := range sorted {
		switch {
		case e.Introduced != "":
			if e.zero || cmpv(v, e.v) >= 0 {
				affected, idx = true, i
			}
		case e.Fixed != "":
			if cmpv(v, e.v) >= 0 {
				affected = false
			}
		case e.LastAffected != "":
			if cmpv(v, e.v) > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, "", skipped
	}
	// The fix is the first fixed event after the introduction that made v affected and above v.
	for _, e := range sorted[idx+1:] {
		if e.Fixed != "" && cmpv(v, e.v) < 0 {
			return true, e.Fixed, skipped
		}
		if e.LastAffected != "" {
			return true, "", skipped
		}
	}
	return true, "", skipped
}

func cmpv(a, b version) int {
	c, err := a.Compare(b)
	if err != nil {
		return 0
	}
	return c
}

// inVersions reports whether installed is one of the listed versions: equal under the
// ecosystem's ordering when both parse ("1.0" is "1.0.0" in PyPI), else equal as strings.
func inVersions(installed string, versions []string, p *parser) bool {
	if len(versions) == 0 {
		return false
	}
	iv, err := p.parse(installed)
	for _, s := range versions {
		if s == installed {
			return true
		}
		if err == nil {
			if c, ok := p.compare(iv, s); ok && c == 0 {
				return true
			}
		}
	}
	return false
}
