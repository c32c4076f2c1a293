package main

import (
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/inventory/node"
	"redoubt.dev/redoubt/internal/report"
)

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Audit a node from the inside",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newNodeAuditCmd())
	return cmd
}

func newNodeAuditCmd() *cobra.Command {
	var (
		opts       node.Options
		pids       []int
		format     string
		output     string
		failOn     string
		configFile string
		noColor    bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Audit the control-plane components and kubelet running on this node",
		Long: `Audit the control-plane components and the kubelet on this node, from the
inside: the command lines of running kube-apiserver, kube-controller-manager,
kube-scheduler, etcd and kubelet processes (read from /proc), the static pod
manifests in /etc/kubernetes/manifests, the kubelet's configuration file, and
the API server's encryption configuration (which providers it lists; keys are
never read into the report).

Flags are read as each component reads them (defaults included), and checked
against the CIS Kubernetes Benchmark. Run it as root on each control-plane and
worker node (or in a privileged pod with the host's /proc and filesystem,
--proc /host/proc --root /host).`,
		Example: `  sudo redoubt node audit
  redoubt node audit --format json -o node.json
  redoubt node audit --proc /host/proc --root /host --manifests /host/etc/kubernetes/manifests`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !report.ValidFormat(format) {
				return usageError("--format %q: want table, json or sarif", format)
			}
			threshold, err := parseFailOn(failOn)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(configFile, nil)
			if err != nil {
				return err
			}
			opts.PIDs = pids
			snap, err := node.Load(cmd.Context(), opts)
			if err != nil {
				return &exitError{code: exitInput, err: err}
			}
			res, err := audit.Run(cmd.Context(), snap, audit.Options{Config: cfg, Releases: releaseCalendar(cmd)})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ropts := report.Options{ToolVersion: version(), Color: output == "" && colorFor(out, noColor), Width: terminalWidth(out), PolicyFile: cfg.File}
			if err := writeOutput(cmd, output, func(w io.Writer) error { return report.Write(w, format, res, ropts) }); err != nil {
				return err
			}
			if err := inputErrors(cmd, res.Problems, inputErrorsSummary(res, format, output)); err != nil {
				return err
			}
			return failOnFindings(res, threshold)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Proc, "proc", node.DefaultProc, `the proc filesystem to read processes from ("-" for none)`)
	fl.StringVar(&opts.ManifestsDir, "manifests", node.DefaultManifestsDir, `directory of static pod manifests ("-" for none)`)
	fl.StringVar(&opts.KubeletConfig, "kubelet-config", node.DefaultKubeletConfig, `kubelet configuration file, when no running kubelet names one with --config ("-" for none)`)
	fl.StringVar(&opts.Root, "root", "/", "where the node's filesystem is mounted, for files the components' flags name")
	fl.StringVar(&opts.NodeName, "node-name", "", "the node's name in findings (default the host name)")
	fl.IntSliceVar(&pids, "pid", nil, "read only these processes (repeatable; default every process)")
	fl.StringVar(&format, "format", "table", "output format: table, json or sarif")
	fl.StringVarP(&output, "output", "o", "", "write the report to this file instead of standard output")
	fl.StringVar(&failOn, "fail-on", "", "exit 1 when an unsuppressed finding is at or above this severity")
	fl.StringVar(&configFile, "config", "", "policy file with exceptions and settings")
	fl.BoolVar(&noColor, "no-color", false, "never colour the table")
	return cmd
}
