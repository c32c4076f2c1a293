package vex

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
)

// Context is the OpenVEX context Redoubt writes.
const Context = "https://openvex.dev/ns/v0.2.0"

// ExportOptions describe the document Export writes.
type ExportOptions struct {
	// Author of the statements (required by the spec); Redoubt's policy owners by default.
	Author string
	// ID is the document's IRI; by default one derived from its content.
	ID string
	// Tooling names the program that wrote it.
	Tooling string
	// Now is the document's timestamp and the day expiry is judged against.
	Now time.Time
}

// Export writes the exceptions that name vulnerabilities as an OpenVEX document: each becomes a
// not_affected statement (or fixed, for exceptions read from VEX as fixed) whose products are
// the exception's images, narrowed to its packages as subcomponents, or its packages when it
// names no image. OpenVEX cannot express the rest, so exceptions that are expired, use glob
// patterns, are scoped to Kubernetes resources, or name neither images nor packages are left
// out and reported in skipped.
func Export(w io.Writer, exceptions []finding.Exception, o ExportOptions) (skipped []string, err error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	now := o.Now.UTC().Truncate(time.Second)
	today := finding.Today(o.Now)
	doc := Document{Context: Context, Author: o.Author, Role: "Document Creator", Timestamp: &now, Version: 1, Tooling: o.Tooling}
	for i := range exceptions {
		e := &exceptions[i]
		if len(e.Vulnerabilities) == 0 {
			continue
		}
		where := e.Where()
		switch {
		case e.Expired(today):
			skipped = append(skipped, fmt.Sprintf("%s: expired on %s", where, e.Expires.Format(time.DateOnly)))
			continue
		case slices.ContainsFunc(slices.Concat(e.Vulnerabilities, e.Images, e.Packages), isGlob):
			skipped = append(skipped, fmt.Sprintf("%s: uses glob patterns; OpenVEX names exact vulnerabilities, images and packages", where))
			continue
		case len(e.Resources) > 0:
			skipped = append(skipped, fmt.Sprintf("%s: is scoped to Kubernetes resources, which OpenVEX cannot express", where))
			continue
		case len(e.Images) == 0 && len(e.Packages) == 0 && len(e.PURLs) == 0:
			skipped = append(skipped, fmt.Sprintf("%s: names no image or package; an OpenVEX statement needs a product", where))
			continue
		}
		s := Statement{
			Vulnerability: Vulnerability{Name: e.Vulnerabilities[0], Aliases: e.Vulnerabilities[1:]},
			Status:        NotAffected,
		}
		if e.Status == Fixed {
			s.Status = Fixed
		}
		if slices.Contains(Justifications, e.Justification) {
			s.Justification = e.Justification
		}
		impact := e.Reason
		if e.Owner != "" {
			impact += " (owner " + e.Owner
			if !e.Expires.IsZero() {
				impact += ", until " + e.Expires.Format(time.DateOnly)
			}
			impact += ")"
		}
		if s.Status == NotAffected {
			s.ImpactStatement = impact
		} else {
			s.StatusNotes = impact
		}
		var subs []Component
		for _, p := range e.Packages {
			subs = append(subs, Component{ID: p})
		}
		for _, p := range e.PURLs {
			subs = append(subs, Component{ID: p, Identifiers: map[string]string{"purl": p}})
		}
		for _, img := range e.Images {
			c := Component{ID: img, Subcomponents: subs}
			if i := strings.Index(img, "sha256:"); i >= 0 && len(img)-i == len("sha256:")+64 {
				c.Hashes = map[string]string{"sha-256": img[i+len("sha256:"):]}
			}
			s.Products = append(s.Products, c)
		}
		if len(e.Images) == 0 {
			s.Products = subs
		}
		doc.Statements = append(doc.Statements, s)
	}
	if doc.Author == "" {
		doc.Author = "Redoubt policy"
	}
	body, err := json.Marshal(doc.Statements)
	if err != nil {
		return skipped, err
	}
	doc.ID = o.ID
	if doc.ID == "" {
		sum := sha256.Sum256(body)
		doc.ID = "https://openvex.dev/docs/public/redoubt-" + hex.EncodeToString(sum[:16])
	}
	if doc.Statements == nil {
		doc.Statements = []Statement{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return skipped, enc.Encode(doc)
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }
