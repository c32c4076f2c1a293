// Package report writes audit results for people and pipelines: a terminal table, JSON (schema
// version 1) and SARIF 2.1.0. Sinks never recompute: they render the findings they are given.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/audit"
)

// Options control rendering.
type Options struct {
	// ToolVersion is the version of Redoubt that produced the result.
	ToolVersion string
	// Color enables ANSI colour (only for terminals).
	Color bool
	// Width is the terminal width the table fits (80 when zero).
	Width int
	// ShowSuppressed lists suppressed findings in the table too.
	ShowSuppressed bool
	// PolicyFile is the policy file the run used, if any: SARIF locates findings that have no
	// file of their own there when nothing closer is known.
	PolicyFile string
	// ShowVulnerabilities lists every vulnerability finding in the table, instead of one summary
	// per workload container's image. JSON and SARIF always hold every finding.
	ShowVulnerabilities bool
}

// Formats lists the output formats of `redoubt scan`.
var Formats = []string{"table", "json", "sarif"}

// Write renders a result in the named format.
func Write(w io.Writer, format string, r *audit.Result, opts Options) error {
	switch format {
	case "table", "":
		return Table(w, r, opts)
	case "json":
		return JSON(w, r, opts)
	case "sarif":
		return SARIF(w, r, opts)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// ValidFormat reports whether a format name is known.
func ValidFormat(f string) bool { return slices.Contains(Formats, f) }
