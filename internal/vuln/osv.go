package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxRecordBytes caps one OSV record. The largest real records (Linux kernel entries with long
// versions lists) are a few MiB.
const MaxRecordBytes = 16 << 20

// Record is one OSV vulnerability entry, reduced to the fields Redoubt uses.
// See https://ossf.github.io/osv-schema/.
type Record struct {
	SchemaVersion string `json:"schema_version,omitempty"`
	ID            string `json:"id"`
	// Modified, Published and Withdrawn are RFC 3339 timestamps, kept as written: a record with
	// an odd date is still a record.
	Modified         string         `json:"modified,omitempty"`
	Published        string         `json:"published,omitempty"`
	Withdrawn        string         `json:"withdrawn,omitempty"`
	Aliases          []string       `json:"aliases,omitempty"`
	Summary          string         `json:"summary,omitempty"`
	Details          string         `json:"details,omitempty"`
	Severity         []Severity     `json:"severity,omitempty"`
	Affected         []Affected     `json:"affected,omitempty"`
	References       []Reference    `json:"references,omitempty"`
	DatabaseSpecific map[string]any `json:"database_specific,omitempty"`
}

// Severity is one entry of an OSV severity list: a CVSS vector or a source's own rating.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected names one package and the versions of it a vulnerability affects.
type Affected struct {
	Package           Package        `json:"package"`
	Severity          []Severity     `json:"severity,omitempty"`
	Ranges            []Range        `json:"ranges,omitempty"`
	Versions          []string       `json:"versions,omitempty"`
	EcosystemSpecific map[string]any `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  map[string]any `json:"database_specific,omitempty"`
}

// Range is a timeline of events over versions ordered by Type: SEMVER, ECOSYSTEM or GIT.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one point of a range's timeline; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link about the vulnerability.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// The range types of the OSV schema.
const (
	RangeSemver    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// ErrRecord marks an OSV record that cannot be used.
var ErrRecord = errors.New("invalid OSV record")

// ParseRecord decodes and checks one OSV record. Unknown fields are ignored, as the schema
// asks of clients; a record without an ID, or with events that set no or several fields, is
// refused with an error wrapping ErrRecord.
func ParseRecord(data []byte) (*Record, error) {
	if len(data) > MaxRecordBytes {
		return nil, fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrRecord, len(data), MaxRecordBytes)
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrRecord)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrRecord, r.ID, err)
	}
	return &r, nil
}

func (r *Record) check() error {
	if strings.TrimSpace(r.ID) == "" {
		return errors.New("no id")
	}
	if len(r.ID) > 256 {
		return errors.New("id longer than 256 bytes")
	}
	for i, a := range r.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			// Records of GIT-only projects name no package; they cannot match an installed one.
			continue
		}
		for j, rg := range a.Ranges {
			for k, e := range rg.Events {
				n := 0
				for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if s != "" {
						n++
					}
				}
				if n != 1 {
					return fmt.Errorf("affected[%d].ranges[%d].events[%d]: an event sets exactly one of introduced, fixed, last_affected, limit", i, j, k)
				}
			}
		}
	}
	return nil
}

// IDs returns the record's ID and aliases.
func (r *Record) IDs() []string { return append([]string{r.ID}, r.Aliases...) }
