package finding

import (
	"slices"
	"strings"
	"testing"
)

var (
	_ = Register(Rule{ID: "filter-test-rbac-read", Title: "t", Phase: PhaseDeploy, Description: "d", Remediation: "r"})
	_ = Register(Rule{ID: "filter-test-rbac-write", Title: "t", Phase: PhaseDeploy, Description: "d", Remediation: "r"})
	_ = Register(Rule{ID: "filter-test-image", Title: "t", Phase: PhaseBuild, Description: "d", Remediation: "r"})
)

func TestFilter(t *testing.T) {
	all := []Finding{
		{Check: "filter-test-rbac-read", Severity: High},
		{Check: "filter-test-rbac-write", Severity: Critical},
		{Check: "filter-test-image", Severity: Unknown},
		{Check: "filter-test-image", Severity: Medium},
	}
	for _, tc := range []struct {
		name       string
		severities string
		checks     []string
		want       []string // check/severity of the findings kept
	}{
		{"empty keeps all", "", nil, []string{"filter-test-rbac-read/high", "filter-test-rbac-write/critical", "filter-test-image/unknown", "filter-test-image/medium"}},
		{"severity list", "critical, HIGH", nil, []string{"filter-test-rbac-read/high", "filter-test-rbac-write/critical"}},
		{"unknown is its own severity", "unknown", nil, []string{"filter-test-image/unknown"}},
		{"exact check", "", []string{"filter-test-image"}, []string{"filter-test-image/unknown", "filter-test-image/medium"}},
		{"glob", "", []string{"filter-test-rbac-*"}, []string{"filter-test-rbac-read/high", "filter-test-rbac-write/critical"}},
		{"comma list of checks", "", []string{"filter-test-rbac-read,filter-test-image"}, []string{"filter-test-rbac-read/high", "filter-test-image/unknown", "filter-test-image/medium"}},
		{"both must hold", "medium", []string{"filter-test-image"}, []string{"filter-test-image/medium"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sevs, err := ParseSeverities(tc.severities)
			if err != nil {
				t.Fatal(err)
			}
			checks, err := ParseChecks(tc.checks)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range (Filter{Severities: sevs, Checks: checks}).Apply(slices.Clone(all)) {
				got = append(got, f.Check+"/"+f.Severity.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	if _, err := ParseSeverities("critical,urgent"); err == nil || !strings.Contains(err.Error(), `"urgent"`) {
		t.Errorf("--severity urgent: %v", err)
	}
	for _, bad := range []string{"filter-test-rbac-reed", "[unclosed", "nothing-*"} {
		if _, err := ParseChecks([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("--check %s: error %v does not refuse it by name", bad, err)
		}
	}
}
