package report

import (
	"encoding/json"
	"io"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/risk"
)

// SchemaVersion is the version of the JSON output's shape. Additions keep the version; a rename
// or removal is a new version.
const SchemaVersion = 1

// Document is the JSON output of `redoubt scan --format json`.
type Document struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Tool          Tool                `json:"tool"`
	Target        inventory.Source    `json:"target"`
	Findings      []finding.Finding   `json:"findings"`
	Summary       audit.Summary       `json:"summary"`
	Problems      []inventory.Problem `json:"problems"`
	// Risk ranks every workload, most at risk first, each score explained factor by factor.
	Risk *risk.Ranking `json:"risk,omitempty"`
}

// Tool names the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// NewDocument builds the JSON document for a result.
func NewDocument(r *audit.Result, opts Options) Document {
	d := Document{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "redoubt", Version: opts.ToolVersion},
		Findings:      r.Findings,
		Summary:       r.Summarize(),
		Problems:      r.Problems,
		Risk:          r.Risk,
	}
	if r.Snapshot != nil {
		d.Target = r.Snapshot.Source
	}
	if d.Findings == nil {
		d.Findings = []finding.Finding{}
	}
	for i := range d.Findings {
		if d.Findings[i].References == nil {
			d.Findings[i].References = []string{}
		}
	}
	if d.Problems == nil {
		d.Problems = []inventory.Problem{}
	}
	return d
}

// JSON writes the result as an indented JSON document.
func JSON(w io.Writer, r *audit.Result, opts Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDocument(r, opts))
}
