package vuln

import (
	"errors"
	"fmt"
	"math"
	"strings"

	cvss40 "github.com/pandatix/go-cvss/40"

	"redoubt.dev/redoubt/internal/finding"
)

// ErrCVSS marks a CVSS vector that cannot be scored.
var ErrCVSS = errors.New("invalid CVSS vector")

// cvss3Weights are the base metric values of CVSS v3.0 and v3.1 (specification section 7.4).
var cvss3Weights = map[string]map[string]float64{
	"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
	"AC": {"L": 0.77, "H": 0.44},
	"PR": {"N": 0.85, "L": 0.62, "H": 0.27}, // L and H change when the scope changes
	"UI": {"N": 0.85, "R": 0.62},
	"S":  {"U": 0, "C": 0},
	"C":  {"H": 0.56, "L": 0.22, "N": 0},
	"I":  {"H": 0.56, "L": 0.22, "N": 0},
	"A":  {"H": 0.56, "L": 0.22, "N": 0},
}

// cvss3Optional are the temporal and environmental metrics a vector may carry; they do not
// change the base score.
var cvss3Optional = map[string]bool{"E": true, "RL": true, "RC": true, "CR": true, "IR": true, "AR": true,
	"MAV": true, "MAC": true, "MPR": true, "MUI": true, "MS": true, "MC": true, "MI": true, "MA": true}

// CVSS3BaseScore computes the base score of a CVSS v3.0 or v3.1 vector exactly as the
// specifications define it, including each version's Roundup.
func CVSS3BaseScore(vector string) (float64, error) {
	parts := strings.Split(vector, "/")
	version := strings.TrimPrefix(parts[0], "CVSS:")
	if version != "3.0" && version != "3.1" {
		return 0, fmt.Errorf("%w %q: want a CVSS:3.0 or CVSS:3.1 prefix", ErrCVSS, vector)
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("%w %q: metric %q has no value", ErrCVSS, vector, p)
		}
		if _, dup := m[k]; dup {
			return 0, fmt.Errorf("%w %q: metric %s given twice", ErrCVSS, vector, k)
		}
		if w, base := cvss3Weights[k]; base {
			if _, ok := w[v]; !ok {
				return 0, fmt.Errorf("%w %q: %s:%s is not a valid value", ErrCVSS, vector, k, v)
			}
		} else if !cvss3Optional[k] {
			return 0, fmt.Errorf("%w %q: unknown metric %s", ErrCVSS, vector, k)
		}
		m[k] = v
	}
	for k := range cvss3Weights {
		if m[k] == "" {
			return 0, fmt.Errorf("%w %q: base metric %s missing", ErrCVSS, vector, k)
		}
	}
	changed := m["S"] == "C"
	w := func(k string) float64 { return cvss3Weights[k][m[k]] }
	pr := w("PR")
	if changed {
		pr = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}[m["PR"]]
	}
	iss := 1 - (1-w("C"))*(1-w("I"))*(1-w("A"))
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploitability := 8.22 * w("AV") * w("AC") * pr * w("UI")
	if impact <= 0 {
		return 0, nil
	}
	roundup := roundup31
	if version == "3.0" {
		roundup = roundup30
	}
	if changed {
		return roundup(math.Min(1.08*(impact+exploitability), 10)), nil
	}
	return roundup(math.Min(impact+exploitability, 10)), nil
}

// roundup31 is CVSS v3.1's Roundup (Appendix A): the smallest number with one decimal that is
// equal to or higher than its input, computed on integers to avoid floating point surprises.
func roundup31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

// roundup30 is CVSS v3.0's Roundup: ceiling to one decimal.
func roundup30(x float64) float64 { return math.Ceil(x*10) / 10 }

// cvss2Weights are the base metric values of CVSS v2 (the v2 guide, section 3.2.1).
var cvss2Weights = map[string]map[string]float64{
	"AV": {"L": 0.395, "A": 0.646, "N": 1.0},
	"AC": {"H": 0.35, "M": 0.61, "L": 0.71},
	"Au": {"M": 0.45, "S": 0.56, "N": 0.704},
	"C":  {"N": 0, "P": 0.275, "C": 0.660},
	"I":  {"N": 0, "P": 0.275, "C": 0.660},
	"A":  {"N": 0, "P": 0.275, "C": 0.660},
}

// CVSS2BaseScore computes the base score of a CVSS v2 vector ("AV:N/AC:L/Au:N/C:P/I:P/A:P").
func CVSS2BaseScore(vector string) (float64, error) {
	m := map[string]string{}
	for _, p := range strings.Split(strings.Trim(strings.TrimPrefix(vector, "("), ")"), "/") {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("%w %q: metric %q has no value", ErrCVSS, vector, p)
		}
		if w, base := cvss2Weights[k]; base {
			if _, ok := w[v]; !ok {
				return 0, fmt.Errorf("%w %q: %s:%s is not a valid value", ErrCVSS, vector, k, v)
			}
			m[k] = v
		}
	}
	for k := range cvss2Weights {
		if m[k] == "" {
			return 0, fmt.Errorf("%w %q: base metric %s missing", ErrCVSS, vector, k)
		}
	}
	w := func(k string) float64 { return cvss2Weights[k][m[k]] }
	impact := 10.41 * (1 - (1-w("C"))*(1-w("I"))*(1-w("A")))
	exploitability := 20 * w("AV") * w("AC") * w("Au")
	f := 1.176
	if impact == 0 {
		f = 0
	}
	return math.Round(((0.6*impact)+(0.4*exploitability)-1.5)*f*10) / 10, nil
}

// CVSS4BaseScore scores a CVSS v4.0 vector with the FIRST reference algorithm (macro vectors
// and interpolation), as implemented by github.com/pandatix/go-cvss.
func CVSS4BaseScore(vector string) (float64, error) {
	v, err := cvss40.ParseVector(vector)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %v", ErrCVSS, vector, err)
	}
	return v.Score(), nil
}

// cvssSeverity maps a CVSS v3/v4 score to its qualitative rating. A score of 0.0 ("None") is
// informational.
func cvssSeverity(score float64) finding.Severity {
	switch {
	case score >= 9.0:
		return finding.Critical
	case score >= 7.0:
		return finding.High
	case score >= 4.0:
		return finding.Medium
	case score > 0:
		return finding.Low
	}
	return finding.Info
}

// cvss2Severity maps a CVSS v2 score the way NVD did: there is no critical in v2.
func cvss2Severity(score float64) finding.Severity {
	switch {
	case score >= 7.0:
		return finding.High
	case score >= 4.0:
		return finding.Medium
	case score > 0:
		return finding.Low
	}
	return finding.Info
}

// ratingSeverity reads a source's own qualitative rating: GitHub's MODERATE, Red Hat's
// Important, Ubuntu's negligible, Debian's unimportant and so on. ok is false for ratings that
// say nothing ("unknown", "not yet assigned").
func ratingSeverity(s string) (sev finding.Severity, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return finding.Critical, true
	case "high", "important":
		return finding.High, true
	case "moderate", "medium":
		return finding.Medium, true
	case "low", "negligible", "unimportant", "minor":
		return finding.Low, true
	case "none", "info", "informational":
		return finding.Info, true
	}
	return finding.Info, false
}
