package main

import (
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/netpol"
)

func newNetpolDiffCmd() *cobra.Command {
	f := &netpolFlags{}
	var format string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show the connections a policy change adds and removes",
		Long: `Compare the connectivity of two sets of manifests (a file or directory each, as
for list): every connection NEW allows that OLD does not ("+") and every one OLD
allows that NEW does not ("-"). Workloads are matched by namespace, kind and
name. Either side may be @cluster: the live cluster that --kubeconfig, --context
and -n name.`,
		Example: `  redoubt netpol diff main/k8s pr/k8s
  git worktree add /tmp/base origin/main && redoubt netpol diff /tmp/base/k8s k8s --format json
  redoubt netpol diff @cluster k8s/ --context prod -n shop`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			format = tableFormat(format)
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			var as [2]*netpol.Analysis
			if len(f.source.filenames) > 0 {
				return usageError("netpol diff compares OLD and NEW, given as its two arguments; -f/--filename does not apply")
			}
			if args[0] == "@cluster" && args[1] == "@cluster" {
				return usageError("OLD and NEW are both @cluster")
			}
			for i, p := range args {
				var snap *inventory.Snapshot
				if p == "@cluster" {
					snap, err = f.source.load(cmd.Context(), cmd, nil)
				} else {
					lim := manifest.DefaultLimits
					lim.MaxFileBytes = f.source.maxFileMiB << 20
					snap, err = manifest.Load(cmd.Context(), []string{p}, manifest.Options{Namespace: f.source.namespace,
						ValuesFiles: f.source.values, ReleaseName: f.source.releaseName, Limits: lim})
					if err == nil {
						err = f.source.checkEmpty(cmd, snap, []string{p})
					}
				}
				if err != nil {
					return err
				}
				as[i] = netpol.Analyze(snap, opts)
			}
			changes := netpol.Diff(as[0], as[1])
			err = writeOutput(cmd, f.output, func(w io.Writer) error {
				if format == "json" {
					return netpol.WriteChangesJSON(w, changes)
				}
				return netpol.WriteChanges(w, changes)
			})
			if err != nil {
				return err
			}
			return finish(cmd, append(analysisProblems(as[0]), analysisProblems(as[1])...), append(as[0].Notes, as[1].Notes...))
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
