// Package purl reads package URLs (https://github.com/package-url/purl-spec), the identifiers
// SBOMs, VEX documents and vulnerability findings use for packages.
package purl

import (
	"fmt"
	"net/url"
	"strings"
)

// PURL is a parsed package URL.
type PURL struct {
	Type       string
	Namespace  string
	Name       string
	Version    string
	Qualifiers map[string]string
}

// Parse reads "pkg:type/namespace/name@version?qualifiers#subpath".
func Parse(s string) (PURL, error) {
	var p PURL
	rest, ok := strings.CutPrefix(s, "pkg:")
	if !ok {
		return p, fmt.Errorf("%q is not a package URL", s)
	}
	rest = strings.TrimLeft(rest, "/")
	rest, _, _ = strings.Cut(rest, "#")
	rest, q, _ := strings.Cut(rest, "?")
	if q != "" {
		vals, err := url.ParseQuery(q)
		if err != nil {
			return p, fmt.Errorf("package URL %q: qualifiers: %w", s, err)
		}
		p.Qualifiers = map[string]string{}
		for k, v := range vals {
			p.Qualifiers[strings.ToLower(k)] = v[0]
		}
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 && i > strings.LastIndex(rest, "/") {
		v, err := url.PathUnescape(rest[i+1:])
		if err != nil {
			return p, fmt.Errorf("package URL %q: version: %w", s, err)
		}
		p.Version, rest = v, rest[:i]
	}
	typ, path, ok := strings.Cut(rest, "/")
	if !ok || typ == "" || path == "" {
		return p, fmt.Errorf("package URL %q: want pkg:type/name", s)
	}
	p.Type = strings.ToLower(typ)
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		u, err := url.PathUnescape(seg)
		if err != nil {
			return p, fmt.Errorf("package URL %q: %w", s, err)
		}
		segs[i] = u
	}
	p.Name = segs[len(segs)-1]
	p.Namespace = strings.Join(segs[:len(segs)-1], "/")
	return p, nil
}

// PackageName spells the package as Redoubt's findings name it: the npm scope and name, the
// Maven group:artifact, the Go module path, or the bare name elsewhere.
func (p PURL) PackageName() string {
	switch p.Type {
	case "npm", "golang", "swift", "composer":
		if p.Namespace != "" {
			return p.Namespace + "/" + p.Name
		}
	case "maven":
		if p.Namespace != "" {
			return p.Namespace + ":" + p.Name
		}
	}
	return p.Name
}

// Covers reports whether the package URL pattern names the package URL p: the same type,
// namespace and name, and, when the pattern gives a version, the same version. Qualifiers and
// subpaths are ignored: they say where a package came from, not which package it is.
func (pattern PURL) Covers(p PURL) bool {
	if pattern.Type != p.Type || !strings.EqualFold(pattern.Name, p.Name) || !strings.EqualFold(pattern.Namespace, p.Namespace) {
		return false
	}
	return pattern.Version == "" || pattern.Version == p.Version
}
