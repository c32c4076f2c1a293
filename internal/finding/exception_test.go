package finding

import (
	"slices"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestExceptionMatches(t *testing.T) {
	web := Finding{Check: "run-as-root", Resource: Resource{Namespace: "shop", Kind: "Deployment", Name: "web-frontend", Container: "app"}}
	vuln := Finding{Check: "vulnerability", Resource: Resource{Namespace: "shop", Kind: "Deployment", Name: "api"},
		Location:      Location{Image: "reg.internal/api:1", Digest: "sha256:abc"},
		Vulnerability: &Vulnerability{ID: "GHSA-xxxx", Aliases: []string{"CVE-2021-1"}, Package: "lodash", PURL: "pkg:npm/lodash@4.17.15"}}
	exec := Finding{Check: "audit-pod-exec", Resource: Resource{Namespace: "shop", Kind: "Pod", Name: "web-0"},
		Evidence: map[string]any{"user": "system:serviceaccount:ci:deployer", "impersonatedBy": "alice"}}
	tests := []struct {
		name string
		e    Exception
		f    Finding
		want bool
	}{
		{"subject glob", Exception{Subjects: []string{"system:serviceaccount:ci:*"}}, exec, true},
		{"subject is the impersonator", Exception{Subjects: []string{"alice"}}, exec, true},
		{"other subject", Exception{Subjects: []string{"bob"}}, exec, false},
		{"subject on a finding without one", Exception{Subjects: []string{"*"}}, web, false},
		{"check", Exception{Checks: []string{"run-as-root"}}, web, true},
		{"other check", Exception{Checks: []string{"privileged-container"}}, web, false},
		{"check glob", Exception{Checks: []string{"run-as-*"}}, web, true},
		{"resource glob", Exception{Resources: []Selector{{Namespace: "shop", Name: "web-*"}}}, web, true},
		{"resource kind mismatch", Exception{Resources: []Selector{{Kind: "StatefulSet"}}}, web, false},
		{"any of several selectors", Exception{Resources: []Selector{{Namespace: "x"}, {Name: "web-frontend"}}}, web, true},
		{"container", Exception{Resources: []Selector{{Container: "sidecar"}}}, web, false},
		{"check and resource both required", Exception{Checks: []string{"run-as-root"}, Resources: []Selector{{Namespace: "other"}}}, web, false},
		{"vulnerability by alias", Exception{Vulnerabilities: []string{"CVE-2021-1"}}, vuln, true},
		{"vulnerability alias case", Exception{Vulnerabilities: []string{"cve-2021-1"}}, vuln, true},
		{"vulnerability on a non-vulnerability finding", Exception{Vulnerabilities: []string{"CVE-2021-1"}}, web, false},
		{"package", Exception{Packages: []string{"lodash"}}, vuln, true},
		{"image by digest", Exception{Images: []string{"sha256:abc"}}, vuln, true},
		{"image glob", Exception{Images: []string{"reg.internal/*"}}, vuln, true},
		{"image mismatch", Exception{Images: []string{"other/*"}}, vuln, false},
		{"package URL with the version", Exception{PURLs: []string{"pkg:npm/lodash@4.17.15"}}, vuln, true},
		{"package URL of another version", Exception{PURLs: []string{"pkg:npm/lodash@4.17.21"}}, vuln, false},
		{"package URL without a version", Exception{PURLs: []string{"pkg:npm/lodash"}}, vuln, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Matches(&tc.f); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExceptionValidate(t *testing.T) {
	tests := []struct {
		name string
		e    Exception
		want string
	}{
		{"complete", Exception{Checks: []string{"a"}, Reason: "r", Owner: "o"}, ""},
		{"no reason", Exception{Checks: []string{"a"}, Owner: "o"}, "a reason is required"},
		{"no owner", Exception{Checks: []string{"a"}, Reason: "r"}, "an owner is required"},
		{"annotation needs no owner", Exception{Checks: []string{"a"}, Reason: "r", Source: "annotation"}, ""},
		{"matches everything", Exception{Reason: "r", Owner: "o"}, "it must name checks, vulnerabilities, resources, images, packages or subjects (an exception for everything is not allowed)"},
		{"bad pattern", Exception{Checks: []string{"[a"}, Reason: "r", Owner: "o"}, `pattern "[a" is malformed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.e.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSuppressKeepsFindingsAndReportsExpired(t *testing.T) {
	fs := []Finding{
		{Check: "a", Resource: Resource{Name: "x"}},
		{Check: "b", Resource: Resource{Name: "x"}},
		{Check: "c", Resource: Resource{Name: "x"}},
	}
	exs := []Exception{
		{Checks: []string{"a"}, Reason: "first", Owner: "o", Source: "config", File: "p.yaml", Line: 3},
		{Checks: []string{"a", "b"}, Reason: "second", Owner: "o", Source: "config"},
		{Checks: []string{"c"}, Reason: "old", Owner: "o", Expires: day("2026-01-31")},
	}
	expired := Suppress(fs, exs, day("2026-01-31"))
	if len(fs) != 3 {
		t.Fatalf("suppression removed findings")
	}
	if s := fs[0].Suppressed; s == nil || s.Reason != "first" || s.File != "p.yaml" || s.Line != 3 {
		t.Errorf("first matching exception should apply, with its origin: %+v", s)
	}
	if s := fs[1].Suppressed; s == nil || s.Reason != "second" {
		t.Errorf("b: %+v", s)
	}
	if fs[2].Suppressed != nil {
		t.Errorf("an exception expires on its expiry date, but it still applied")
	}
	if len(expired) != 1 || expired[0].Reason != "old" {
		t.Errorf("expired = %+v", expired)
	}
	// The day before, it applies.
	fs[2].Suppressed = nil
	if expired := Suppress(fs[2:], exs, day("2026-01-30")); len(expired) != 0 || fs[2].Suppressed == nil {
		t.Errorf("exception should apply until its expiry date")
	}
}

func TestSortIsIndependentOfInputOrder(t *testing.T) {
	a := []Finding{
		{Check: "x", Severity: Low, Resource: Resource{Namespace: "b", Kind: "Deployment", Name: "w"}},
		{Check: "y", Severity: Critical, Resource: Resource{Namespace: "b", Kind: "Deployment", Name: "w"}},
		{Check: "x", Severity: High, Resource: Resource{Namespace: "a", Kind: "Pod", Name: "p"}},
		{Check: "x", Severity: High, Resource: Resource{Namespace: "a", Kind: "Pod", Name: "p", Container: "c"}},
	}
	b := []Finding{a[3], a[1], a[0], a[2]}
	Sort(a)
	Sort(b)
	for i := range a {
		if a[i].Key() != b[i].Key() {
			t.Fatalf("order depends on input: %v vs %v", a, b)
		}
	}
	if a[0].Resource.Namespace != "a" || a[2].Severity != Critical {
		t.Errorf("unexpected order: %+v", a)
	}
}

func TestSeverity(t *testing.T) {
	for _, s := range Severities() {
		got, err := ParseSeverity(s.String())
		if err != nil || got != s {
			t.Errorf("round trip of %s: %v %v", s, got, err)
		}
		b, _ := s.MarshalJSON()
		var back Severity
		if err := back.UnmarshalJSON(b); err != nil || back != s {
			t.Errorf("JSON round trip of %s: %v", s, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Error("unknown severity accepted")
	}
	if s, _ := ParseSeverity("HIGH"); s != High {
		t.Error("severity names are case-insensitive")
	}
}

func TestRegisterRejectsBadRules(t *testing.T) {
	for name, r := range map[string]Rule{
		"not kebab":      {ID: "Bad_ID", Title: "t", Phase: PhaseDeploy, Description: "d", Remediation: "r"},
		"no remediation": {ID: "x-y", Title: "t", Phase: PhaseDeploy, Description: "d"},
		"bad reference":  {ID: "x-z", Title: "t", Phase: PhaseDeploy, Description: "d", Remediation: "r", References: []string{"5.2.2"}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("registration of a bad rule did not panic")
				}
			}()
			Register(r)
		})
	}
}

// An unrated vulnerability is "unknown": never taken for a real rating, below low for
// --fail-on (as Trivy and Grype rank it), above info.
func TestUnknownSeverity(t *testing.T) {
	s, err := ParseSeverity("UNKNOWN")
	if err != nil || s != Unknown || s.String() != "unknown" {
		t.Fatalf("ParseSeverity(UNKNOWN) = %v, %v", s, err)
	}
	for _, tc := range []struct {
		threshold Severity
		counts    bool
	}{{Critical, false}, {High, false}, {Medium, false}, {Low, false}, {Unknown, true}, {Info, true}} {
		f := Finding{Severity: Unknown}
		if got := f.Counts(tc.threshold); got != tc.counts {
			t.Errorf("an unknown finding counts at --fail-on %s: %v, want %v", tc.threshold, got, tc.counts)
		}
	}
	if !slices.Contains(Severities(), Unknown) {
		t.Error("Severities() leaves out unknown")
	}
}
