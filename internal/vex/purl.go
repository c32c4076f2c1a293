package vex

import (
	"fmt"
	"net/url"
	"strings"
)

// purl is a parsed package URL (https://github.com/package-url/purl-spec).
type purl struct {
	Type       string
	Namespace  string
	Name       string
	Version    string
	Qualifiers map[string]string
}

// parsePURL reads "pkg:type/namespace/name@version?qualifiers#subpath".
func parsePURL(s string) (purl, error) {
	var p purl
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

// packageName spells the package as Redoubt's findings name it: the npm scope and name, the
// Maven group:artifact, the Go module path, or the bare name elsewhere.
func (p purl) packageName() string {
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
