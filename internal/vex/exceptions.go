package vex

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/purl"
)

// Set is what a set of VEX documents says: exceptions for the statements that suppress, and
// warnings about statements that cannot be applied.
type Set struct {
	Exceptions []finding.Exception
	Warnings   []string
}

// target is what a product or subcomponent selects in Redoubt's terms.
type target struct {
	images   []string // image references or "sha256:<hex>" digests
	packages []string // package names: any version
	purls    []string // package URLs with a version: that version only
	key      string   // identifies the product for "later statements override earlier ones"
}

// Exceptions turns the documents' statements into exceptions. Statements about the same
// vulnerability and product override earlier ones (by timestamp, then by order), as the spec
// says VEX is a sequence of statements; only the latest of each that says not_affected or
// fixed suppresses. A product is matched by the image digest of a pkg:oci package URL or a
// sha-256 hash (the findings' image digest), by an image reference, or, for package URLs of
// other types, by package name; subcomponents narrow an image product to those packages.
// names are the documents' file names, in the same order.
func Exceptions(names []string, docs []*Document) *Set {
	type decided struct {
		when  time.Time
		order int
		doc   int
		st    *Statement
		t     target
	}
	latest := map[string]*decided{}
	var keys []string
	set := &Set{}
	order := 0
	for di, d := range docs {
		for si := range d.Statements {
			s := &d.Statements[si]
			when := time.Time{}
			switch {
			case s.Timestamp != nil:
				when = *s.Timestamp
			case d.Timestamp != nil:
				when = *d.Timestamp
			}
			for _, p := range s.Products {
				t, err := productTarget(p, append(slices.Clone(p.Subcomponents), s.Subcomponents...))
				if err != nil {
					set.Warnings = append(set.Warnings, fmt.Sprintf("VEX %s: statement %d (%s): %v; it does not apply", names[di], si+1, s.Vulnerability.Name, err))
					continue
				}
				order++
				k := strings.ToUpper(s.Vulnerability.Name) + "\x00" + t.key
				prev := latest[k]
				if prev == nil {
					keys = append(keys, k)
				}
				if prev == nil || !when.Before(prev.when) {
					latest[k] = &decided{when: when, order: order, doc: di, st: s, t: t}
				}
			}
		}
	}
	for _, k := range keys {
		dec := latest[k]
		s := dec.st
		if s.Status != NotAffected && s.Status != Fixed {
			continue
		}
		d := docs[dec.doc]
		vulns := []string{s.Vulnerability.Name}
		for _, a := range s.Vulnerability.Aliases {
			if !slices.Contains(vulns, a) {
				vulns = append(vulns, a)
			}
		}
		reason := s.ImpactStatement
		if reason == "" {
			reason = "VEX " + s.Status
			if s.Justification != "" {
				reason += ": " + strings.ReplaceAll(s.Justification, "_", " ")
			}
		}
		e := finding.Exception{
			Vulnerabilities: vulns, Images: dec.t.images, Packages: dec.t.packages, PURLs: dec.t.purls,
			Reason: reason, Owner: d.Author, Source: "vex", File: names[dec.doc],
			Status: s.Status, Justification: s.Justification,
		}
		if err := e.Validate(); err != nil {
			set.Warnings = append(set.Warnings, fmt.Sprintf("VEX %s: %s: %v; it does not apply", names[dec.doc], s.Vulnerability.Name, err))
			continue
		}
		set.Exceptions = append(set.Exceptions, e)
	}
	return set
}

// productTarget reads what a product (with its subcomponents) selects.
func productTarget(p Component, subs []Component) (target, error) {
	var t target
	img, pkgs, purls, err := componentTarget(p)
	if err != nil {
		return t, err
	}
	t.images = img
	for _, s := range subs {
		si, sp, spurls, err := componentTarget(s)
		if err != nil {
			return t, fmt.Errorf("subcomponent: %w", err)
		}
		if len(si) > 0 {
			return t, fmt.Errorf("subcomponent %q is an image", cmp.Or(s.ID, s.Identifiers["purl"]))
		}
		t.packages = append(t.packages, sp...)
		t.purls = append(t.purls, spurls...)
	}
	if len(subs) == 0 {
		t.packages, t.purls = pkgs, purls
	} else if len(img) == 0 {
		return t, fmt.Errorf("product %q has subcomponents but is not an image", cmp.Or(p.ID, p.Identifiers["purl"]))
	}
	if len(t.images) == 0 && len(t.packages) == 0 && len(t.purls) == 0 {
		return t, fmt.Errorf("product %q names no image digest, image or package", p.ID)
	}
	slices.Sort(t.images)
	slices.Sort(t.packages)
	slices.Sort(t.purls)
	t.key = strings.Join(t.images, ",") + "|" + strings.Join(t.packages, ",") + "|" + strings.Join(t.purls, ",")
	return t, nil
}

// componentTarget reads one component's identifiers.
func componentTarget(c Component) (images, packages, purls []string, err error) {
	add := func(list *[]string, s string) {
		if s != "" && !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	for _, id := range []string{c.ID, c.Identifiers["purl"]} {
		switch {
		case id == "":
		case strings.HasPrefix(id, "pkg:"):
			p, err := purl.Parse(id)
			if err != nil {
				return nil, nil, nil, err
			}
			if p.Type == "oci" || p.Type == "docker" {
				switch {
				case strings.HasPrefix(p.Version, "sha256:"):
					add(&images, p.Version)
				case p.Qualifiers["repository_url"] != "" && p.Version != "":
					add(&images, p.Qualifiers["repository_url"]+":"+p.Version)
				default:
					return nil, nil, nil, fmt.Errorf("image %q: give its digest (pkg:oci/NAME@sha256:...) so the statement names one image", id)
				}
				continue
			}
			// A version pins the statement to that version of the package.
			if p.Version != "" {
				add(&purls, id)
			} else {
				add(&packages, p.PackageName())
			}
		case strings.HasPrefix(id, "sha256:"):
			add(&images, id)
		case strings.Contains(id, "://"):
			// An IRI that is not a package URL identifies nothing Redoubt can see.
		case strings.Contains(id, "@sha256:"):
			add(&images, id)
			add(&images, id[strings.Index(id, "@")+1:])
		case strings.ContainsAny(id, "/:"):
			add(&images, id) // an image reference
		default:
			add(&packages, id) // a bare package name
		}
	}
	if h := c.Hashes["sha-256"]; h != "" && len(packages) == 0 {
		// The hash of an image (its manifest digest); a package's file hash matches nothing.
		add(&images, "sha256:"+strings.ToLower(h))
	}
	return images, packages, purls, nil
}
