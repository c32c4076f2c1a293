package main

import (
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/report"
)

func newRiskCmd() *cobra.Command {
	var (
		source     sourceFlags
		format     string
		output     string
		configFile string
		vexFiles   []string
		top        int
		noColor    bool
		images     imageFlags
	)
	cmd := &cobra.Command{
		Use:   "risk [PATH...]",
		Short: "Rank workloads by risk, each score explained factor by factor",
		Long: `Rank every workload by risk, most at risk first, and explain each score
factor by factor: vulnerabilities in its images, deploy findings, exposure
(LoadBalancer, NodePort, Ingress, and reachability from other namespaces),
the power of its service account, host access, risky components in its
images, and the Secrets it mounts.

It runs the same audit as scan (same sources, images, policy file and
exceptions: suppressed findings do not count) and ranks its results. The
formula is in docs/risk.md.`,
		Example: `  redoubt risk examples/shop
  redoubt risk --context prod --top 10
  redoubt risk k8s/ --format json -o risk.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			if top < 0 {
				return usageError("--top %d: want a positive number, or 0 for every workload", top)
			}
			cfg, err := loadConfig(configFile, source.paths(args))
			if err != nil {
				return err
			}
			if err := applyVEX(cmd, cfg, vexFiles); err != nil {
				return err
			}
			source.observe = true
			snap, err := source.load(cmd.Context(), cmd, args)
			if err != nil {
				return err
			}
			scanImages(cmd, snap, cfg, &images, &source)
			res, err := audit.Run(cmd.Context(), snap, audit.Options{Config: cfg, Releases: releaseCalendar(cmd)})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			opts := report.Options{ToolVersion: version(), Color: output == "" && colorFor(out, noColor), Width: terminalWidth(out)}
			err = writeOutput(cmd, output, func(w io.Writer) error {
				if format == "json" {
					return report.RiskJSON(w, res, opts)
				}
				return report.RiskTable(w, res, top, opts)
			})
			if err != nil {
				return err
			}
			return inputErrors(cmd, res.Problems, "%d input error%s: the ranking covers everything else")
		},
	}
	source.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "table", "output format: table or json")
	fl.StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	fl.StringVar(&configFile, "config", "", "policy file with exceptions and settings (default .redoubt.yaml in the scanned directory)")
	fl.IntVar(&top, "top", 0, "show only the N workloads most at risk (0: all)")
	fl.BoolVar(&noColor, "no-color", false, "never colour the output")
	addVEXFlag(cmd, &vexFiles)
	images.registerScan(cmd)
	return cmd
}
