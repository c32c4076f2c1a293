package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/risk"
)

// RiskDocument is the JSON output of `redoubt risk --format json`.
type RiskDocument struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Tool          Tool                `json:"tool"`
	Target        inventory.Source    `json:"target"`
	Risk          *risk.Ranking       `json:"risk"`
	Problems      []inventory.Problem `json:"problems"`
}

// RiskJSON writes the ranking of a result as JSON.
func RiskJSON(w io.Writer, r *audit.Result, opts Options) error {
	doc := RiskDocument{SchemaVersion: SchemaVersion, Tool: Tool{Name: "redoubt", Version: opts.ToolVersion},
		Risk: r.Risk, Problems: r.Problems}
	if r.Snapshot != nil {
		doc.Target = r.Snapshot.Source
	}
	if doc.Problems == nil {
		doc.Problems = []inventory.Problem{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// RiskTable writes the ranking, most at risk first: one block per workload with its score and
// every factor that added points, with the facts behind them. top limits the workloads shown
// (0 for all).
func RiskTable(w io.Writer, r *audit.Result, top int, opts Options) error {
	width := opts.Width
	if width <= 0 {
		width = 80
	}
	p := &printer{w: w, color: opts.Color, width: width}
	if r.Risk == nil || len(r.Risk.Workloads) == 0 {
		p.line("no workloads to rank")
		return p.err
	}
	shown := r.Risk.Workloads
	if top > 0 && top < len(shown) {
		shown = shown[:top]
	}
	const factorIndent = 22
	for i, wr := range shown {
		if i > 0 {
			p.line("")
		}
		head := fmt.Sprintf("%2d. %s", wr.Rank, wr.Key())
		score := fmt.Sprintf("score %.1f", wr.Score)
		p.line(p.paint(bold, head) + pad(width-len(head)-len(score)) + score)
		for _, f := range wr.Factors {
			if f.Points == 0 && len(f.Items) == 0 {
				continue
			}
			label := fmt.Sprintf("    %-11s%5.1f  ", f.Name, f.Points)
			lines := wrap(f.Explanation, width-factorIndent)
			for j, l := range lines {
				if j == 0 {
					p.line(label + l)
				} else {
					p.line(strings.Repeat(" ", factorIndent) + l)
				}
			}
			for _, item := range f.Items {
				for j, l := range wrap(item, width-factorIndent-2) {
					prefix := "- "
					if j > 0 {
						prefix = "  "
					}
					p.line(strings.Repeat(" ", factorIndent) + p.paint("\x1b[2m", prefix+l))
				}
			}
		}
	}
	p.line("")
	more := ""
	if len(shown) < len(r.Risk.Workloads) {
		more = fmt.Sprintf(" (%d shown)", len(shown))
	}
	p.line(fmt.Sprintf("%d workload%s ranked%s; %s", len(r.Risk.Workloads), plural(len(r.Risk.Workloads)), more, r.Risk.Formula))
	return p.err
}
