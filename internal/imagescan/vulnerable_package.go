package imagescan

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/vuln"
)

// image-vulnerability: a package installed in the image (an OS package, or a Go, npm, PyPI,
// Maven, crates.io or RubyGems package) has a known vulnerability in the vulnerability database.
// One finding per vulnerability and package: records that name the same vulnerability (a CVE,
// its GHSA, GO and DSA/DEBIAN entries) are merged, and their IDs listed as aliases. OS packages
// are matched by their source package and version in the image's release ("Debian:12"), as
// distributions publish advisories. The severity is the vulnerability's own (from its CVSS
// vector, else the source's rating); the finding says which version fixes it, if any, and which
// image layer installed the package.
var vulnerability = finding.Register(finding.Rule{
	ID:       "image-vulnerability",
	Title:    "Known vulnerability in an image package",
	Phase:    finding.PhaseBuild,
	Severity: finding.Medium,
	Description: "A package installed in the image has a published vulnerability. The severity is the vulnerability's own " +
		"(from its CVSS vector or the source's rating); fixable says whether a fixed version exists.",
	Remediation: "Upgrade the package to the fixed version (rebuild on an updated base image for OS packages, bump the " +
		"dependency for language packages) in the layer that installs it. If no fix exists or the code is not reachable, " +
		"record an exception or a VEX statement with the reason.",
	References: []string{"redoubt:image-vulnerabilities"},
})

// summaryText is the vulnerability's summary as the message quotes it: without a leading
// restatement of its own ID ("CVE-x fixed in Debian ..." after "CVE-x in libssl3 ..."), which
// some records open with.
func summaryText(v image.Vulnerability) string {
	s := strings.TrimSpace(v.Summary)
	for _, id := range append([]string{v.ID}, v.Aliases...) {
		if rest, ok := strings.CutPrefix(s, id); ok && (rest == "" || rest[0] == ' ' || rest[0] == ':') {
			s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
			break
		}
	}
	return s
}

func vulnerabilityFinding(rep *image.Report, p *image.Package, v image.Vulnerability, res finding.Resource, loc finding.Location) finding.Finding {
	fix := "no fixed version is known"
	if v.Fixed != "" {
		fix = "fixed in " + v.Fixed
	}
	msg := fmt.Sprintf("%s in %s, %s; installed by %s", v.ID, packageLabel(p), fix, layerLabel(p.Layer, p.CreatedBy))
	if s := summaryText(v); s != "" {
		msg += ": " + s
	}
	f := vulnerability.New(res, loc, msg)
	f.Severity = v.Severity
	f.Vulnerability = v.Match.Vulnerability(vuln.Package{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version})
	f.Vulnerability.PURL = p.PURL
	if v.Fixed != "" {
		f.Remediation = fmt.Sprintf("Upgrade %s to %s or later", p.MatchName(), v.Fixed)
		if isOS(p.Type) {
			f.Remediation += fmt.Sprintf(" (rebuild on an updated base image, or upgrade the package in %s)", layerLabel(p.Layer, p.CreatedBy))
		} else {
			f.Remediation += fmt.Sprintf(" in the dependency manifest and rebuild %s", layerLabel(p.Layer, p.CreatedBy))
		}
		f.Remediation += "."
	}
	f.Evidence = map[string]any{
		"package": p.Name, "version": p.Version, "type": p.Type, "path": p.Path,
		"severitySource": v.SeveritySource,
	}
	if p.Source != "" && p.Source != p.Name {
		f.Evidence["sourcePackage"], f.Evidence["sourceVersion"] = p.Source, p.SourceVersion
	}
	if v.CVSS != "" {
		f.Evidence["cvss"] = v.CVSS
	}
	return f
}
