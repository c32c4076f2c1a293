package image

import (
	"strings"

	"github.com/package-url/packageurl-go"

	"redoubt.dev/redoubt/internal/image/extract"
)

// debianReleases maps codenames to release numbers, for testing images without VERSION_ID.
var debianReleases = map[string]string{
	"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
}

// Ecosystem names the OSV ecosystem a package's advisories are published in. OS packages need
// the distribution's release ("Debian:12", "Alpine:v3.20", "Ubuntu:22.04"); it is "" when the
// distribution is unknown, and such packages are not matched.
func Ecosystem(typ string, d *extract.Distro) string {
	switch typ {
	case extract.TypeGo:
		return "Go"
	case extract.TypeNPM:
		return "npm"
	case extract.TypePyPI:
		return "PyPI"
	case extract.TypeMaven:
		return "Maven"
	case extract.TypeCargo:
		return "crates.io"
	case extract.TypeGem:
		return "RubyGems"
	}
	if d == nil {
		return ""
	}
	major := func(v string) string { m, _, _ := strings.Cut(v, "."); return m }
	minor := func(v string) string {
		parts := strings.SplitN(v, ".", 3)
		if len(parts) < 2 {
			return v
		}
		return parts[0] + "." + parts[1]
	}
	switch {
	case typ == extract.TypeDeb && d.ID == "debian":
		rel := major(d.VersionID)
		if rel == "" {
			rel = debianReleases[d.Codename]
		}
		if rel == "" {
			return "Debian"
		}
		return "Debian:" + rel
	case typ == extract.TypeDeb && d.ID == "ubuntu":
		return "Ubuntu:" + d.VersionID
	case typ == extract.TypeApk && d.ID == "alpine":
		return "Alpine:v" + minor(d.VersionID)
	case typ == extract.TypeApk && d.ID == "wolfi":
		return "Wolfi"
	case typ == extract.TypeApk && d.ID == "chainguard":
		return "Chainguard"
	case typ == extract.TypeRPM:
		switch d.ID {
		case "almalinux":
			return "AlmaLinux:" + major(d.VersionID)
		case "rocky":
			return "Rocky Linux:" + major(d.VersionID)
		case "rhel":
			return "Red Hat"
		case "mariner", "azurelinux":
			return "Mariner:" + d.VersionID
		case "opensuse-leap":
			return "openSUSE:Leap " + d.VersionID
		case "sles":
			return "SUSE:Linux Enterprise Server " + d.VersionID
		}
	}
	return ""
}

// PURL returns the package URL (https://github.com/package-url/purl-spec) of a package.
func PURL(p *extract.Package, d *extract.Distro) string {
	var q packageurl.Qualifiers
	namespace, name, version := "", p.Name, p.Version
	typ := p.Type
	switch p.Type {
	case extract.TypeDeb, extract.TypeApk, extract.TypeRPM:
		if d != nil {
			namespace = d.ID
			distro := d.ID
			if d.VersionID != "" {
				distro += "-" + d.VersionID
			}
			q = append(q, packageurl.Qualifier{Key: "distro", Value: distro})
		}
		if p.Arch != "" {
			q = append([]packageurl.Qualifier{{Key: "arch", Value: p.Arch}}, q...)
		}
		if p.Source != "" && p.Source != p.Name {
			up := p.Source
			if p.Type == extract.TypeDeb && p.SourceVersion != "" && p.SourceVersion != p.Version {
				up += "@" + p.SourceVersion
			}
			key := "upstream"
			if p.Type == extract.TypeApk {
				key = "origin"
			}
			q = append(q, packageurl.Qualifier{Key: key, Value: up})
		}
		if p.Type == extract.TypeRPM {
			if e, v, ok := strings.Cut(version, ":"); ok {
				version = v
				q = append(q, packageurl.Qualifier{Key: "epoch", Value: e})
			}
		}
	case extract.TypeGo:
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			namespace, name = name[:i], name[i+1:]
		}
	case extract.TypeNPM:
		if strings.HasPrefix(name, "@") {
			if i := strings.IndexByte(name, '/'); i > 0 {
				namespace, name = name[:i], name[i+1:]
			}
		}
	case extract.TypePyPI:
		name = strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(name))
	case extract.TypeMaven:
		if g, a, ok := strings.Cut(name, ":"); ok {
			namespace, name = g, a
		}
	}
	return packageurl.NewPackageURL(typ, namespace, name, version, q, "").ToString()
}
