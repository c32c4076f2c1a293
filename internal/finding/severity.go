package finding

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity ranks how urgently a finding needs attention. The zero value is Info.
//
// Unknown is the severity of a vulnerability that no source rates: it could be anything, so it is
// never shown as a real rating (as Trivy shows UNKNOWN). It ranks below Low and above Info, as in
// Trivy and Grype: --fail-on low (or higher) does not fail on it; --fail-on unknown or info does.
// Values are only compared, never stored as numbers outside one process (names are what every
// output format and the vulnerability database's ratings hold).
type Severity int

// Severities from least to most urgent.
const (
	Info Severity = iota
	Unknown
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "unknown", "low", "medium", "high", "critical"}

// Severities lists every severity from most to least urgent.
func Severities() []Severity { return []Severity{Critical, High, Medium, Low, Unknown, Info} }

// SeverityNames is the list of names for help texts and errors, most urgent first.
const SeverityNames = "critical, high, medium, low, unknown, info"

// String returns the lower-case name used in every output format.
func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity accepts a severity name in any case.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("%q is not a severity (want one of %s)", name, SeverityNames)
}

// MarshalJSON writes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Set implements pflag.Value so a severity can be a command-line flag.
func (s *Severity) Set(name string) error {
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Type implements pflag.Value.
func (s *Severity) Type() string { return "severity" }
