package vuln

import (
	"errors"
	"testing"

	"redoubt.dev/redoubt/internal/finding"
)

// Scores as NVD and the FIRST calculators publish them for these vectors.
func TestCVSSBaseScores(t *testing.T) {
	tests := []struct {
		vector string
		score  float64
		sev    finding.Severity
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, finding.Critical},
		{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, finding.High},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H", 7.4, finding.High},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, finding.Medium},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, finding.Critical},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, finding.Critical},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, finding.Medium},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, finding.Low},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0, finding.Info},
		// Temporal and environmental metrics do not change the base score.
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C", 9.8, finding.Critical},
		{"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 6.5, finding.Medium},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, finding.High},
	}
	for _, tc := range tests {
		got, err := CVSS3BaseScore(tc.vector)
		if err != nil || got != tc.score || cvssSeverity(got) != tc.sev {
			t.Errorf("CVSS3BaseScore(%s) = %v (%v), %v; want %v (%v)", tc.vector, got, cvssSeverity(got), err, tc.score, tc.sev)
		}
	}
	v2 := []struct {
		vector string
		score  float64
	}{
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5},
		{"AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3},
		{"AV:L/AC:L/Au:N/C:C/I:C/A:C", 7.2},
		{"AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0},
		{"AV:N/AC:L/Au:N/C:N/I:N/A:N", 0},
	}
	for _, tc := range v2 {
		if got, err := CVSS2BaseScore(tc.vector); err != nil || got != tc.score {
			t.Errorf("CVSS2BaseScore(%s) = %v, %v; want %v", tc.vector, got, err, tc.score)
		}
	}
	v4 := []struct {
		vector string
		score  float64
	}{
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3},
		{"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5},
	}
	for _, tc := range v4 {
		if got, err := CVSS4BaseScore(tc.vector); err != nil || got != tc.score {
			t.Errorf("CVSS4BaseScore(%s) = %v, %v; want %v", tc.vector, got, err, tc.score)
		}
	}
}

func TestCVSSInvalidVectors(t *testing.T) {
	for _, v := range []string{
		"",
		"CVSS:2.0/AV:N",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",          // A missing
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",      // bad value
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", // twice
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", // unknown metric
		"CVSS:3.1/AV:N/ACL/PR:N/UI:N/S:U/C:H/I:H/A:H",
	} {
		if _, err := CVSS3BaseScore(v); !errors.Is(err, ErrCVSS) {
			t.Errorf("CVSS3BaseScore(%q) error = %v, want ErrCVSS", v, err)
		}
	}
	if _, err := CVSS4BaseScore("CVSS:4.0/AV:N"); !errors.Is(err, ErrCVSS) {
		t.Errorf("CVSS4BaseScore of an incomplete vector: %v", err)
	}
}

func TestRatePrefersCVSS3ThenRatings(t *testing.T) {
	tests := []struct {
		name   string
		list   []Severity
		blocks []map[string]any
		want   finding.Severity
		source string
	}{
		{"v3 over database rating", []Severity{{"CVSS_V3", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H"}},
			[]map[string]any{{"severity": "CRITICAL"}}, finding.High, "CVSS_V3"},
		{"GitHub's MODERATE", nil, []map[string]any{{"severity": "MODERATE"}}, finding.Medium, "database_specific"},
		{"Ubuntu type", []Severity{{"Ubuntu", "negligible"}}, nil, finding.Low, "Ubuntu"},
		{"v2 last", []Severity{{"CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"}, {"Ubuntu", "medium"}}, nil, finding.Medium, "Ubuntu"},
		{"v4 over rating", []Severity{{"CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}, {"Ubuntu", "low"}}, nil, finding.Critical, "CVSS_V4"},
		{"garbage vector falls through", []Severity{{"CVSS_V3", "nonsense"}}, []map[string]any{{"severity": "low"}}, finding.Low, "database_specific"},
	}
	for _, tc := range tests {
		r := rate(tc.list, tc.blocks...)
		if r == nil || r.Severity != tc.want || r.Source != tc.source {
			t.Errorf("%s: rate = %+v, want %v from %s", tc.name, r, tc.want, tc.source)
		}
	}
	if r := rate(nil, map[string]any{"severity": "unknown"}); r != nil {
		t.Errorf("an 'unknown' rating must not rate: %+v", r)
	}
}
