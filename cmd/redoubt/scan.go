package main

import (
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/report"
)

type scanFlags struct {
	source         sourceFlags
	format         string
	output         string
	failOn         string
	configFile     string
	pssLevel       string
	showSuppressed bool
	noColor        bool
	vex            []string
	images         imageFlags
}

func newScanCmd() *cobra.Command {
	f := &scanFlags{}
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Audit manifests or a live cluster and report findings",
		Long: `Audit manifests or a live cluster and report findings.

With PATHs (arguments, or -f/--filename as with kubectl), scan files and directories: YAML and JSON manifests (several
documents per file, List kinds), Helm charts (rendered with the chart's
defaults and any --values files) and Kustomize directories. "-" reads
standard input. Every finding names the file and line of its object.

Without PATHs, scan the cluster of the current kubeconfig context, read-only;
--kubeconfig, --context and -n choose another, as with kubectl.

Exceptions come from .redoubt.yaml in the scanned directory (or --config), and
from the redoubt.dev/ignore and redoubt.dev/ignore-reason annotations on the
objects themselves. Suppressed findings stay in JSON and SARIF output, marked.`,
		Example: `  # Audit a directory of manifests, failing the pipeline on high findings
  redoubt scan k8s/ --fail-on high

  # A Helm chart with production values, as SARIF for code scanning
  redoubt scan charts/shop --values values-prod.yaml --format sarif -o redoubt.sarif

  # Files as kubectl takes them
  redoubt scan -f deploy.yaml -f k8s/

  # The cluster of the current context, one namespace
  redoubt scan -n shop`,
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, args, f) },
	}
	f.source.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "table", "output format: table, json or sarif")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of standard output")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when an unsuppressed finding is at or above this severity: critical, high, medium, low or info")
	fl.StringVar(&f.configFile, "config", "", "policy file with exceptions and settings (default .redoubt.yaml in the scanned directory)")
	fl.StringVar(&f.pssLevel, "pss-level", "", "Pod Security Standards level reported: baseline or restricted (default restricted, or the policy file's)")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "list suppressed findings in the table too")
	fl.BoolVar(&f.noColor, "no-color", false, "never colour the table (colour is only used on a terminal anyway)")
	addVEXFlag(cmd, &f.vex)
	f.images.registerScan(cmd)
	return cmd
}

func runScan(cmd *cobra.Command, args []string, f *scanFlags) error {
	if !report.ValidFormat(f.format) {
		return usageError("--format %q: want table, json or sarif", f.format)
	}
	threshold, err := parseFailOn(f.failOn)
	if err != nil {
		return err
	}
	if f.pssLevel != "" && f.pssLevel != "baseline" && f.pssLevel != "restricted" {
		return usageError("--pss-level %q: want baseline or restricted", f.pssLevel)
	}
	cfg, err := loadConfig(f.configFile, f.source.paths(args))
	if err != nil {
		return err
	}
	if err := applyVEX(cmd, cfg, f.vex); err != nil {
		return err
	}
	f.source.observe = true
	snap, err := f.source.load(cmd.Context(), cmd, args)
	if err != nil {
		return err
	}
	scanImages(cmd, snap, cfg, &f.images, &f.source)
	res, err := audit.Run(cmd.Context(), snap, audit.Options{Config: cfg, PSSLevel: f.pssLevel, Releases: releaseCalendar(cmd)})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	opts := report.Options{ToolVersion: version(), Color: f.output == "" && colorFor(out, f.noColor),
		Width: terminalWidth(out), ShowSuppressed: f.showSuppressed, PolicyFile: cfg.File}
	if err := writeOutput(cmd, f.output, func(w io.Writer) error { return report.Write(w, f.format, res, opts) }); err != nil {
		return err
	}
	if err := inputErrors(cmd, res.Problems, "%d input error%s: the findings above cover everything else"); err != nil {
		return err
	}
	return failOnFindings(res, threshold)
}

// loadConfig reads the policy file: --config, or .redoubt.yaml beside the scanned paths.
func loadConfig(explicit string, paths []string) (*config.Config, error) {
	path := explicit
	if path == "" {
		path = config.Find(paths)
	}
	if path == "" {
		return config.Default(), nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &exitError{code: exitInput, err: err}
	}
	return cfg, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
