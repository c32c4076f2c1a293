package vuln

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// rating is a severity with where it came from.
type rating struct {
	Severity finding.Severity `json:"s"`
	// Source says what the severity was read from: "CVSS_V3", "CVSS_V4", "CVSS_V2", a rating
	// type such as "Ubuntu", or "database_specific"/"ecosystem_specific".
	Source string `json:"src"`
	// Vector is the CVSS vector, when the severity was computed from one.
	Vector string  `json:"v,omitempty"`
	Score  float64 `json:"sc,omitempty"`
}

func (r *rating) known() bool { return r != nil && r.Source != "" }

// The order in which severities are preferred: a CVSS v3 base score computed from the vector
// first (the most widely published), then v4, then the source's own qualitative rating, then
// CVSS v2.
var severityOrder = []string{"CVSS_V3", "CVSS_V4", "rating", "CVSS_V2"}

// rate picks a severity from an OSV severity list and the database_specific and
// ecosystem_specific blocks that sit beside it. It returns nil when none of them rates the
// vulnerability.
func rate(list []Severity, blocks ...map[string]any) *rating {
	found := map[string]*rating{}
	for _, s := range list {
		score := strings.TrimSpace(s.Score)
		switch t := strings.ToUpper(s.Type); t {
		case "CVSS_V3":
			if v, err := CVSS3BaseScore(score); err == nil && found[t] == nil {
				found[t] = &rating{Severity: cvssSeverity(v), Source: t, Vector: score, Score: v}
			}
		case "CVSS_V4":
			if v, err := CVSS4BaseScore(score); err == nil && found[t] == nil {
				found[t] = &rating{Severity: cvssSeverity(v), Source: t, Vector: score, Score: v}
			}
		case "CVSS_V2":
			if v, err := CVSS2BaseScore(score); err == nil && found[t] == nil {
				found[t] = &rating{Severity: cvss2Severity(v), Source: t, Vector: score, Score: v}
			}
		default: // "Ubuntu" and other qualitative types
			if sev, ok := ratingSeverity(score); ok && found["rating"] == nil {
				found["rating"] = &rating{Severity: sev, Source: s.Type}
			}
		}
	}
	if found["rating"] == nil {
		for i, b := range blocks {
			name := "database_specific"
			if i%2 == 1 {
				name = "ecosystem_specific"
			}
			if r := blockRating(b, name); r != nil {
				found["rating"] = r
				break
			}
		}
	}
	for _, k := range severityOrder {
		if r := found[k]; r != nil {
			return r
		}
	}
	return nil
}

// blockRating reads {"severity": "HIGH"} (GitHub, Alpine, Red Hat and others) or
// {"severity": [{"type":..., "score":...}]} from a database_specific or ecosystem_specific block.
func blockRating(b map[string]any, name string) *rating {
	switch v := b["severity"].(type) {
	case string:
		if sev, ok := ratingSeverity(v); ok {
			return &rating{Severity: sev, Source: name}
		}
	case []any:
		var list []Severity
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				list = append(list, Severity{Type: fmt.Sprint(m["type"]), Score: fmt.Sprint(m["score"])})
			}
		}
		if r := rate(list); r != nil {
			return r
		}
	}
	return nil
}
