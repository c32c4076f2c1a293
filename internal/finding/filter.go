package finding

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Filter narrows a report to the findings a user asked for: `--severity critical,high` and
// `--check 'rbac-*'`. An empty filter keeps everything. Filters choose what is reported (and so
// what --fail-on sees); they are not exceptions, and filtered-out findings are not marked
// suppressed: they are simply not in the report.
type Filter struct {
	// Severities kept; none means every severity.
	Severities []Severity
	// Checks are check IDs or globs (path.Match syntax: "rbac-*", "image-has-*"); none means
	// every check.
	Checks []string
}

// ParseSeverities reads a comma-separated list of severity names ("critical,high"), as the
// --severity flags of scan and image scan take it.
func ParseSeverities(list string) ([]Severity, error) {
	var out []Severity
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		sev, err := ParseSeverity(s)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, sev) {
			out = append(out, sev)
		}
	}
	return out, nil
}

// ParseChecks reads check IDs and globs, each possibly a comma-separated list. A pattern that
// is malformed, or that names no registered check, is an error: a mistyped --check would
// otherwise hide every finding and pass the pipeline.
func ParseChecks(patterns []string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		for _, c := range strings.Split(p, ",") {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			if _, err := path.Match(c, ""); err != nil {
				return nil, fmt.Errorf("check pattern %q: %w", c, err)
			}
			if !slices.ContainsFunc(Rules(), func(r *Rule) bool { return matchCheck(c, r.ID) }) {
				return nil, fmt.Errorf("check %q matches no check (redoubt checks lists them)", c)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func matchCheck(pattern, id string) bool {
	ok, _ := path.Match(pattern, id)
	return ok
}

// Empty reports whether the filter keeps everything.
func (f Filter) Empty() bool { return len(f.Severities) == 0 && len(f.Checks) == 0 }

// Keep reports whether a finding passes the filter.
func (f Filter) Keep(x Finding) bool {
	if len(f.Severities) > 0 && !slices.Contains(f.Severities, x.Severity) {
		return false
	}
	if len(f.Checks) > 0 && !slices.ContainsFunc(f.Checks, func(p string) bool { return matchCheck(p, x.Check) }) {
		return false
	}
	return true
}

// Apply returns the findings that pass the filter, in their order (fs is compacted in place).
func (f Filter) Apply(fs []Finding) []Finding {
	if f.Empty() {
		return fs
	}
	return slices.DeleteFunc(fs, func(x Finding) bool { return !f.Keep(x) })
}
