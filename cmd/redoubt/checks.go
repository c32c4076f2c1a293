package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/report"
)

func newChecksCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every check Redoubt can report",
		Long: `List every check: its stable ID (what exceptions and pipelines refer to), phase,
default severity and title. --format markdown writes the reference that
docs/checks.md holds; --format json is for tools.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			switch format {
			case "table":
				return checksTable(w)
			case "markdown":
				return report.ChecksMarkdown(w)
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(finding.Rules())
			}
			return usageError("--format %q: want table, markdown or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, markdown or json")
	return cmd
}

func checksTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPHASE\tSEVERITY\tTITLE")
	for _, r := range finding.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Phase, strings.ToUpper(r.Severity.String()), r.Title)
	}
	return tw.Flush()
}
