package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/auditlog"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/report"
)

func newAuditlogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auditlog",
		Short: "Analyse the Kubernetes API server's audit log",
		Long: `Analyse the Kubernetes API server's audit log for what insiders and stolen
credentials do through the API: exec into pods, unusual Secret reads, anonymous
access, bursts of 401/403, privileged pods, RBAC escalation, admission webhook
changes, service-account tokens used from outside the cluster, deleted evidence.
See docs/auditlog.md for how to turn auditing on and the policy to use.`,
	}
	cmd.AddCommand(newAuditlogAnalyzeCmd())
	return cmd
}

type auditlogFlags struct {
	format, output, failOn, configFile string
	showSuppressed, noColor            bool
	podCIDRs, nodeCIDRs                []string
	sensitive, protected               []string
	baselineWindow                     time.Duration
	baselineUntil                      string
	burstThreshold                     int
	burstWindow                        time.Duration
	cluster                            string
	maxFindings                        int
}

func newAuditlogAnalyzeCmd() *cobra.Command {
	f := &auditlogFlags{}
	cmd := &cobra.Command{
		Use:   "analyze FILE|DIR|GLOB|- ...",
		Short: "Report findings from audit log files (JSON lines, plain or gzip)",
		Long: `Report findings from audit log files: audit.k8s.io/v1 Events, one JSON
object per line, as the API server's log backend writes them. Files may be
gzip-compressed (detected by their first bytes). Files are read in the order
given; a directory or a glob pattern stands for the rotated logs in it, read
oldest first (audit.log.2, audit.log.1, audit.log). "-" reads standard input.

Malformed lines are counted, reported with their file and line, and skipped;
the findings cover everything else, and the exit code is then 2.

Repeats of one finding (same check, object, user and detail) are reported once
with their count and the first and last audit IDs.

Exceptions come from .redoubt.yaml in the current directory (or --config), by
check and resource (namespace, kind, name), with expiry, as for redoubt scan.`,
		Example: `  # The rotated logs of a kubeadm control-plane node, failing on high findings
  redoubt auditlog analyze /var/log/kubernetes/audit/ --fail-on high

  # Judge service-account tokens against the cluster's address ranges
  redoubt auditlog analyze audit.log --pod-cidr 10.244.0.0/16 --node-cidr 10.0.0.0/24

  # From a log shipper, as SARIF
  zcat audit-*.log.gz | redoubt auditlog analyze - --format sarif -o audit.sarif`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("auditlog analyze: name at least one audit log file, directory, pattern or - (see --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runAuditlogAnalyze(cmd, args, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "table", "output format: table, json or sarif")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of standard output")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when an unsuppressed finding is at or above this severity: critical, high, medium, low or info")
	fl.StringVar(&f.configFile, "config", "", "policy file with exceptions (default .redoubt.yaml in the current directory)")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "list suppressed findings in the table too")
	fl.BoolVar(&f.noColor, "no-color", false, "never colour the table")
	fl.StringSliceVar(&f.podCIDRs, "pod-cidr", nil, "the cluster's pod address ranges (repeatable; default the policy file's network.podCIDRs): service-account tokens used from outside them and --node-cidr are findings")
	fl.StringSliceVar(&f.nodeCIDRs, "node-cidr", nil, "the cluster's node address ranges (repeatable)")
	fl.StringSliceVar(&f.sensitive, "sensitive-namespace", nil, "glob patterns on namespaces where exec and Secret reads weigh more, besides kube-system, kube-public and kube-node-lease")
	fl.StringSliceVar(&f.protected, "protected-namespace", nil, "glob patterns on namespaces whose objects must not be deleted (default redoubt*)")
	fl.DurationVar(&f.baselineWindow, "baseline-window", time.Hour, "how long from the first event the Secret-read baseline learns who reads Secrets where")
	fl.StringVar(&f.baselineUntil, "baseline-until", "", "end the Secret-read baseline at this time (RFC 3339) instead of --baseline-window")
	fl.IntVar(&f.burstThreshold, "burst-threshold", 20, "401/403 responses to one address within --burst-window that make a burst")
	fl.DurationVar(&f.burstWindow, "burst-window", time.Minute, "the window of --burst-threshold")
	fl.StringVar(&f.cluster, "cluster", "", "name of the cluster the log came from, for the findings")
	fl.IntVar(&f.maxFindings, "max-findings", 10000, "distinct findings kept (repeats only raise a finding's count)")
	return cmd
}

func parsePrefixes(flag string, values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		p, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			return nil, usageError("--%s %q: want an address range such as 10.244.0.0/16", flag, v)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func runAuditlogAnalyze(cmd *cobra.Command, args []string, f *auditlogFlags) error {
	if !report.ValidFormat(f.format) {
		return usageError("--format %q: want table, json or sarif", f.format)
	}
	threshold, err := parseFailOn(f.failOn)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f.configFile, []string{"."})
	if err != nil {
		return err
	}
	opts := auditlog.Options{Cluster: f.cluster, SensitiveNamespaces: f.sensitive, ProtectedNamespaces: f.protected,
		BaselineWindow: f.baselineWindow, BurstThreshold: f.burstThreshold, BurstWindow: f.burstWindow, MaxFindings: f.maxFindings}
	if opts.PodCIDRs, err = parsePrefixes("pod-cidr", f.podCIDRs); err != nil {
		return err
	}
	if len(opts.PodCIDRs) == 0 {
		opts.PodCIDRs = cfg.Network.PodCIDRs
	}
	if opts.NodeCIDRs, err = parsePrefixes("node-cidr", f.nodeCIDRs); err != nil {
		return err
	}
	if f.baselineUntil != "" {
		if opts.BaselineUntil, err = time.Parse(time.RFC3339, f.baselineUntil); err != nil {
			return usageError("--baseline-until %q: want an RFC 3339 time such as 2026-12-01T12:00:00Z", f.baselineUntil)
		}
	}
	if f.burstThreshold < 2 || f.burstWindow <= 0 || f.baselineWindow <= 0 || f.maxFindings < 1 {
		return usageError("--burst-threshold must be at least 2, --max-findings at least 1, and the windows positive")
	}
	inputs, err := auditlog.Inputs(args, cmd.InOrStdin())
	if err != nil {
		return &exitError{code: exitInput, err: err}
	}
	r := auditlog.NewReader(inputs)
	r.Progress = func(input string, s auditlog.Stats) {
		progress(cmd, "read %s: %d lines, %d events so far", input, s.Lines, s.Events)
	}
	a := auditlog.NewAnalyzer(opts)
	r.Filter = a.Wants
	start := time.Now()
	if err := r.Each(cmd.Context(), func(e *auditlog.Event) error { a.Observe(e); return nil }); err != nil {
		return err
	}
	s := r.Stats()
	elapsed := time.Since(start)
	fmt.Fprintf(cmd.ErrOrStderr(), "auditlog: %d file%s, %d lines, %d events decoded, %d skipped (no detection looks at them), %d malformed, %.1f MB in %s\n",
		s.Files, plural(s.Files), s.Lines, s.Events, s.Skipped, s.Malformed, float64(s.Bytes)/1e6, elapsed.Round(time.Millisecond))
	if n := a.Dropped(); n > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %d findings beyond --max-findings %d were not kept\n", n, f.maxFindings)
	}
	res := &audit.Result{
		Snapshot:  &inventory.Snapshot{Source: inventory.Source{Kind: "auditlog", Paths: args, Cluster: f.cluster}},
		Findings:  audit.ApplyExceptions(a.Findings(), cfg, time.Now(), f.cluster),
		Problems:  r.Problems(),
		Analyzers: []string{"auditlog"},
	}
	return writeFindings(cmd, res, f.format, f.output, f.noColor, f.showSuppressed, threshold,
		"%d malformed or unreadable input%s: the findings above cover everything else")
}
