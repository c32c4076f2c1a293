package main

import (
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/access"
	"redoubt.dev/redoubt/internal/report"
)

func newInventoryCmd() *cobra.Command {
	var (
		source  sourceFlags
		format  string
		output  string
		noColor bool
	)
	cmd := &cobra.Command{
		Use:   "inventory [PATH...]",
		Short: "Show what is deployed: images, where, how, and what it can reach",
		Long: `Show, per workload (Deployment, StatefulSet, DaemonSet, Job, CronJob,
ReplicaSet, bare Pod; pods roll up to their owner): the images it runs (with
digests when known), its namespace and nodes, replicas, service account, a
summary of its security context, its volumes, the Secrets and ConfigMaps it
references (names only, never values), and the Services and Ingresses that
expose it.

Sources are the same as for scan: PATHs of manifests, or a live cluster.`,
		Example: `  redoubt inventory examples/shop
  redoubt inventory --context prod -n shop --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			snap, err := source.load(cmd.Context(), cmd, args)
			if err != nil {
				return err
			}
			sums := snap.Summaries()
			access.Summarize(snap, sums)
			out := cmd.OutOrStdout()
			opts := report.Options{ToolVersion: version(), Color: output == "" && colorFor(out, noColor), Width: terminalWidth(out)}
			err = writeOutput(cmd, output, func(w io.Writer) error {
				if format == "json" {
					return report.InventoryJSON(w, snap, sums, opts)
				}
				return report.InventoryTable(w, sums, opts)
			})
			if err != nil {
				return err
			}
			return inputErrors(cmd, snap.Problems, "%d input error%s")
		},
	}
	source.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "never colour the output")
	return cmd
}
