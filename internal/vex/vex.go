// Package vex reads and writes OpenVEX documents (https://github.com/openvex/spec). Statements
// that a product is not_affected by a vulnerability, or that it is fixed, become exceptions
// (finding.Exception with Source "vex") that the one pipeline applies like any other, so VEX
// suppressions show in every output, marked with their status and justification. affected and
// under_investigation statements suppress nothing.
//
// Both the current document shape (vulnerability and products as objects, subcomponents inside
// products) and the first published one (vulnerability and products as strings, subcomponents
// beside them) are read.
package vex

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxBytes caps a VEX document.
const MaxBytes = 16 << 20

// maxStatements caps the statements of one document.
const maxStatements = 100_000

// The status labels of VEX.
const (
	NotAffected        = "not_affected"
	Affected           = "affected"
	Fixed              = "fixed"
	UnderInvestigation = "under_investigation"
)

// Justifications are the labels a not_affected statement may give, from the VEX working
// group's Status Justifications.
var Justifications = []string{
	"component_not_present",
	"vulnerable_code_not_present",
	"vulnerable_code_not_in_execute_path",
	"vulnerable_code_cannot_be_controlled_by_adversary",
	"inline_mitigations_already_exist",
}

// Document is an OpenVEX document.
type Document struct {
	Context    string      `json:"@context"`
	ID         string      `json:"@id"`
	Author     string      `json:"author"`
	Role       string      `json:"role,omitempty"`
	Timestamp  *time.Time  `json:"timestamp"`
	Version    Version     `json:"version"`
	Tooling    string      `json:"tooling,omitempty"`
	Statements []Statement `json:"statements"`
}

// Version is a document's version: a number, or a string holding one in the first spec.
type Version int

// UnmarshalJSON reads 1 or "1".
func (v *Version) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("version %q is not a number", s)
		}
		*v = Version(n)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*v = Version(n)
	return nil
}

// Statement is one assertion: these products, this vulnerability, this status.
type Statement struct {
	Vulnerability   Vulnerability `json:"vulnerability"`
	Timestamp       *time.Time    `json:"timestamp,omitempty"`
	Products        []Component   `json:"products,omitempty"`
	Status          string        `json:"status"`
	StatusNotes     string        `json:"status_notes,omitempty"`
	Justification   string        `json:"justification,omitempty"`
	ImpactStatement string        `json:"impact_statement,omitempty"`
	ActionStatement string        `json:"action_statement,omitempty"`
	// Subcomponents at the statement level are the first spec's shape; they apply to every
	// product of the statement.
	Subcomponents []Component `json:"subcomponents,omitempty"`
}

// Vulnerability names the vulnerability; the first spec wrote it as a bare string.
type Vulnerability struct {
	IRI         string   `json:"@id,omitempty"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Aliases     []string `json:"aliases,omitempty"`
}

// UnmarshalJSON reads an object or a bare string.
func (v *Vulnerability) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*v = Vulnerability{Name: s}
		return nil
	}
	type plain Vulnerability
	return json.Unmarshal(b, (*plain)(v))
}

// Component is a product or subcomponent: identified by @id (usually a package URL), by
// identifiers (purl, cpe22, cpe23) and by hashes. The first spec wrote it as a bare string.
type Component struct {
	ID            string            `json:"@id,omitempty"`
	Identifiers   map[string]string `json:"identifiers,omitempty"`
	Hashes        map[string]string `json:"hashes,omitempty"`
	Subcomponents []Component       `json:"subcomponents,omitempty"`
}

// UnmarshalJSON reads an object or a bare string.
func (c *Component) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*c = Component{ID: s}
		return nil
	}
	type plain Component
	return json.Unmarshal(b, (*plain)(c))
}

// Parse reads and checks one OpenVEX document; name is used in errors.
func Parse(name string, data []byte) (*Document, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("VEX %s: %d bytes is more than the %d allowed", name, len(data), MaxBytes)
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("VEX %s: not an OpenVEX JSON document: %w", name, err)
	}
	if !strings.HasPrefix(d.Context, "https://openvex.dev/ns") {
		return nil, fmt.Errorf("VEX %s: @context %q is not OpenVEX's (https://openvex.dev/ns...)", name, d.Context)
	}
	if len(d.Statements) > maxStatements {
		return nil, fmt.Errorf("VEX %s: %d statements is more than the %d allowed", name, len(d.Statements), maxStatements)
	}
	var problems []string
	for i, s := range d.Statements {
		if err := s.check(); err != nil {
			problems = append(problems, fmt.Sprintf("statement %d (%s): %v", i+1, cmp.Or(s.Vulnerability.Name, "no vulnerability"), err))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("VEX %s: %s", name, strings.Join(problems, "; "))
	}
	return &d, nil
}

func (s *Statement) check() error {
	if strings.TrimSpace(s.Vulnerability.Name) == "" {
		return errors.New("the vulnerability has no name")
	}
	switch s.Status {
	case NotAffected:
		if s.Justification == "" && s.ImpactStatement == "" {
			return errors.New("not_affected needs a justification or an impact_statement")
		}
	case Affected, Fixed, UnderInvestigation:
	default:
		return fmt.Errorf("status %q is not one of not_affected, affected, fixed, under_investigation", s.Status)
	}
	if s.Justification != "" && !slices.Contains(Justifications, s.Justification) {
		return fmt.Errorf("justification %q is not one of %s", s.Justification, strings.Join(Justifications, ", "))
	}
	if len(s.Products) == 0 {
		return errors.New("no products: Redoubt cannot tell what the statement is about")
	}
	return nil
}

// Load reads the VEX files and turns their statements into exceptions (see Exceptions).
func Load(paths []string) (*Set, error) {
	var docs []*Document
	var names []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("VEX %s: %w", p, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("VEX %s: %w", p, err)
		}
		if st.Size() > MaxBytes {
			f.Close()
			return nil, fmt.Errorf("VEX %s: %d bytes is more than the %d allowed", p, st.Size(), MaxBytes)
		}
		b := make([]byte, st.Size())
		_, err = f.ReadAt(b, 0)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("VEX %s: %w", p, err)
		}
		d, err := Parse(p, b)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
		names = append(names, p)
	}
	return Exceptions(names, docs), nil
}
