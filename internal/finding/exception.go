package finding

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/purl"
)

// Exception suppresses the findings it matches: by check, by vulnerability, by resource, by image
// or package, or any combination (all given parts must match). Every exception carries a reason
// and an owner; one past its expiry date stops applying.
type Exception struct {
	// Checks are glob patterns (path.Match syntax) on check IDs; empty matches any check.
	Checks []string `json:"checks,omitempty"`
	// Vulnerabilities are glob patterns on vulnerability IDs, matched against the ID and every alias.
	Vulnerabilities []string `json:"vulnerabilities,omitempty"`
	// Resources select the objects the exception covers; empty matches any resource.
	Resources []Selector `json:"resources,omitempty"`
	// Images are glob patterns on image references or digests; Packages on package names.
	Images   []string `json:"images,omitempty"`
	Packages []string `json:"packages,omitempty"`
	// PURLs are package URLs; one with a version matches that version of the package only.
	PURLs []string `json:"purls,omitempty"`
	// Subjects are glob patterns on the user a runtime finding names (evidence "user", or
	// "impersonatedBy"): the API server user or service account that made the request.
	Subjects []string `json:"subjects,omitempty"`

	Reason string `json:"reason"`
	Owner  string `json:"owner,omitempty"`
	// Expires is the first day on which the exception no longer applies; zero means never.
	Expires time.Time `json:"-"`

	// Source, File and Line say where the exception was written, for the record on each finding.
	Source string `json:"-"`
	File   string `json:"-"`
	Line   int    `json:"-"`
	// Status and Justification carry an OpenVEX statement's verdict.
	Status        string `json:"-"`
	Justification string `json:"-"`
}

// Selector matches resources. Every field is a glob pattern; an empty field matches anything.
type Selector struct {
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Container string `json:"container,omitempty"`
}

// Matches reports whether the selector covers the resource.
func (s Selector) Matches(r Resource) bool {
	return glob(s.Cluster, r.Cluster) && glob(s.Namespace, r.Namespace) &&
		glob(s.Kind, r.Kind) && glob(s.Name, r.Name) && glob(s.Container, r.Container)
}

func glob(pattern, value string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, value)
	return err == nil && ok
}

func anyGlob(patterns []string, values ...string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if p == "*" || strings.EqualFold(p, v) || (v != "" && glob(p, v)) {
				return true
			}
		}
	}
	return false
}

// Validate reports what makes the exception unusable: a missing reason or owner, an exception
// that would match every finding, or a malformed pattern.
func (e *Exception) Validate() error {
	var problems []string
	if strings.TrimSpace(e.Reason) == "" {
		problems = append(problems, "a reason is required")
	}
	if e.Source != "annotation" && e.Source != "vex" && strings.TrimSpace(e.Owner) == "" {
		problems = append(problems, "an owner is required")
	}
	if len(e.Checks) == 0 && len(e.Vulnerabilities) == 0 && len(e.Resources) == 0 &&
		len(e.Images) == 0 && len(e.Packages) == 0 && len(e.PURLs) == 0 && len(e.Subjects) == 0 {
		problems = append(problems, "it must name checks, vulnerabilities, resources, images, packages or subjects (an exception for everything is not allowed)")
	}
	all := slices.Concat(e.Checks, e.Vulnerabilities, e.Images, e.Packages, e.Subjects)
	for _, s := range e.Resources {
		all = append(all, s.Cluster, s.Namespace, s.Kind, s.Name, s.Container)
	}
	for _, p := range all {
		if _, err := path.Match(p, ""); err != nil {
			problems = append(problems, fmt.Sprintf("pattern %q is malformed", p))
		}
	}
	for _, p := range e.PURLs {
		if _, err := purl.Parse(p); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// Expired reports whether the exception no longer applies on the given day.
func (e *Exception) Expired(today time.Time) bool {
	return !e.Expires.IsZero() && !today.Before(e.Expires)
}

// Matches reports whether the exception covers the finding, ignoring expiry.
func (e *Exception) Matches(f *Finding) bool {
	if len(e.Checks) > 0 && !anyGlob(e.Checks, f.Check) {
		return false
	}
	if len(e.Vulnerabilities) > 0 && (f.Vulnerability == nil || !anyGlob(e.Vulnerabilities, f.Vulnerability.IDs()...)) {
		return false
	}
	if len(e.Resources) > 0 && !slices.ContainsFunc(e.Resources, func(s Selector) bool { return s.Matches(f.Resource) }) {
		return false
	}
	if len(e.Images) > 0 && !anyGlob(e.Images, f.Location.Image, f.Location.Digest) {
		return false
	}
	if len(e.Packages) > 0 && (f.Vulnerability == nil || !anyGlob(e.Packages, f.Vulnerability.Package)) {
		return false
	}
	if len(e.PURLs) > 0 && (f.Vulnerability == nil || !coversPURL(e.PURLs, f.Vulnerability.PURL)) {
		return false
	}
	if len(e.Subjects) > 0 && !anySubject(e.Subjects, f) {
		return false
	}
	return true
}

// anySubject reports whether a pattern matches the user a finding's evidence names.
func anySubject(patterns []string, f *Finding) bool {
	var users []string
	for _, k := range []string{"user", "impersonatedBy"} {
		if u, ok := f.Evidence[k].(string); ok && u != "" {
			users = append(users, u)
		}
	}
	for _, p := range patterns {
		for _, u := range users {
			// Usernames hold colons and slashes (system:serviceaccount:ns:name, https://issuer#sub):
			// glob only on the pattern's own wildcards.
			if p == u || glob(p, u) {
				return true
			}
		}
	}
	return false
}

func coversPURL(patterns []string, p string) bool {
	target, err := purl.Parse(p)
	if err != nil {
		return false
	}
	for _, pat := range patterns {
		if pp, err := purl.Parse(pat); err == nil && pp.Covers(target) {
			return true
		}
	}
	return false
}

// Where renders the exception's origin, file:line, for messages.
func (e *Exception) Where() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d", e.File, e.Line)
	case e.File != "":
		return e.File
	}
	return e.Source
}

func (e *Exception) suppression() *Suppression {
	s := &Suppression{Source: e.Source, File: e.File, Line: e.Line, Reason: e.Reason, Owner: e.Owner,
		Status: e.Status, Justification: e.Justification}
	if !e.Expires.IsZero() {
		s.Expires = e.Expires.Format(time.DateOnly)
	}
	return s
}

// Suppress marks each finding with the first unexpired exception that matches it, in the order
// the exceptions are given, and returns the exceptions that had expired by today, so that the
// caller can report them. Findings stay in the slice: nothing silently disappears.
func Suppress(fs []Finding, exceptions []Exception, today time.Time) (expired []*Exception) {
	live := make([]*Exception, 0, len(exceptions))
	for i := range exceptions {
		e := &exceptions[i]
		if e.Expired(today) {
			expired = append(expired, e)
			continue
		}
		live = append(live, e)
	}
	if len(live) == 0 {
		return expired
	}
	for i := range fs {
		f := &fs[i]
		if f.Suppressed != nil {
			continue
		}
		for _, e := range live {
			if e.Matches(f) {
				f.Suppressed = e.suppression()
				break
			}
		}
	}
	return expired
}
