package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/report"
	"redoubt.dev/redoubt/internal/runtime/falco"
	"redoubt.dev/redoubt/internal/runtime/jsonl"
	"redoubt.dev/redoubt/internal/runtime/podmap"
	"redoubt.dev/redoubt/internal/runtime/tetragon"
)

func newEventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Bring runtime agents' events (Falco, Tetragon) into Redoubt's findings",
	}
	cmd.AddCommand(newEventsIngestCmd())
	return cmd
}

type eventsFlags struct {
	falco, tetragon                    []string
	flowsOut                           string
	mapCluster                         bool
	source                             sourceFlags
	format, output, failOn, configFile string
	showSuppressed, noColor            bool
}

func newEventsIngestCmd() *cobra.Command {
	f := &eventsFlags{}
	cmd := &cobra.Command{
		Use:   "ingest --falco FILE|- | --tetragon FILE|-",
		Short: "Report Falco alerts and Tetragon events as runtime findings",
		Long: `Report Falco alerts and Tetragon events as runtime findings, with Redoubt's
exceptions, formats and exit codes.

--falco reads Falco's JSON output (json_output: true, one alert per line). Each
alert becomes a falco-alert finding on the workload of its pod (k8s.ns.name,
k8s.pod.name, or container.id); the Falco priority sets the severity:
Emergency, Alert, Critical -> critical; Error -> high; Warning -> medium;
Notice -> low; Informational, Debug -> info. Alerts about the host itself are
counted, not reported.

--tetragon reads Tetragon's JSON export (one event per line). Shells started in
containers (process_exec) and TracingPolicy matches (process_kprobe,
tracepoint, uprobe, LSM) become findings; tcp_connect kprobes become flows,
written with --flows-out in the format redoubt netpol traffic reads.

Files may be gzip-compressed; "-" reads standard input. With --map-cluster,
pods are mapped to their owning workloads (a Deployment rather than its pod)
through the cluster of the current kubeconfig context, read-only.`,
		Example: `  # Falco's alerts from a file output, failing on high
  redoubt events ingest --falco /var/log/falco/events.json --fail-on high

  # Tetragon's export, mapped to Deployments, with its connections as flows
  redoubt events ingest --tetragon tetragon.log --map-cluster --flows-out flows.jsonl
  redoubt netpol traffic k8s/ --flows flows.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEventsIngest(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.falco, "falco", nil, "Falco JSON output file, or - for standard input (repeatable)")
	fl.StringArrayVar(&f.tetragon, "tetragon", nil, "Tetragon JSON export file, or - for standard input (repeatable)")
	fl.StringVar(&f.flowsOut, "flows-out", "", "write the connections Tetragon saw to this file, as flow records for redoubt netpol traffic")
	fl.BoolVar(&f.mapCluster, "map-cluster", false, "map pods to their workloads through the live cluster (read-only)")
	fl.StringVar(&f.source.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster --map-cluster reads")
	fl.StringVar(&f.source.context, "context", "", "kubeconfig context --map-cluster reads")
	fl.StringVar(&f.format, "format", "table", "output format: table, json or sarif")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of standard output")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when an unsuppressed finding is at or above this severity: critical, high, medium, low or info")
	fl.StringVar(&f.configFile, "config", "", "policy file with exceptions (default .redoubt.yaml in the current directory)")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "list suppressed findings in the table too")
	fl.BoolVar(&f.noColor, "no-color", false, "never colour the table")
	return cmd
}

func runEventsIngest(cmd *cobra.Command, f *eventsFlags) error {
	if len(f.falco) == 0 && len(f.tetragon) == 0 {
		return usageError("events ingest: give --falco FILE or --tetragon FILE (see --help)")
	}
	if n := countStdin(f.falco) + countStdin(f.tetragon); n > 1 {
		return usageError("events ingest: standard input (-) can be read only once")
	}
	if !report.ValidFormat(f.format) {
		return usageError("--format %q: want table, json or sarif", f.format)
	}
	if (f.source.kubeconfig != "" || f.source.context != "") && !f.mapCluster {
		return usageError("--kubeconfig and --context choose the cluster of --map-cluster: add --map-cluster")
	}
	threshold, err := parseFailOn(f.failOn)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f.configFile, []string{"."})
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var snap *inventory.Snapshot
	if f.mapCluster {
		if snap, err = f.source.load(ctx, cmd, nil); err != nil {
			return err
		}
	}
	mapper := podmap.New(snap)
	var all []finding.Finding
	var problems []inventory.Problem
	read := func(path string, fn func(io.Reader) error) {
		rc, err := jsonl.Open(path, cmd.InOrStdin())
		if err != nil {
			problems = append(problems, inventory.Problem{File: path, Message: err.Error()})
			return
		}
		defer rc.Close()
		if err := fn(rc); err != nil {
			problems = append(problems, inventory.Problem{File: path, Message: err.Error()})
		}
	}
	fin := falco.NewIngester(mapper)
	for _, p := range f.falco {
		read(p, func(r io.Reader) error { return fin.Read(ctx, p, r) })
	}
	if len(f.falco) > 0 {
		all = append(all, fin.Findings()...)
		problems = append(problems, fin.Problems()...)
		progress(cmd, "falco: %d findings, %d host alerts not reported", len(fin.Findings()), fin.HostAlerts)
	}
	tin := tetragon.NewIngester(mapper)
	for _, p := range f.tetragon {
		read(p, func(r io.Reader) error { return tin.Read(ctx, p, r) })
	}
	if len(f.tetragon) > 0 {
		all = append(all, tin.Findings()...)
		problems = append(problems, tin.Problems()...)
		fmt.Fprintf(cmd.ErrOrStderr(), "tetragon: %d events, %d findings, %d flows, %d ordinary events not reported\n",
			tin.Events, len(tin.Findings()), len(tin.Flows()), tin.Ignored)
	}
	if f.flowsOut != "" {
		if len(f.tetragon) == 0 {
			return usageError("--flows-out needs --tetragon: only Tetragon's network events are flows")
		}
		if err := writeOutput(cmd, f.flowsOut, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			for _, fl := range tin.Flows() {
				if err := enc.Encode(fl); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	cluster := ""
	if snap != nil {
		cluster = snap.Source.Cluster
	}
	paths := slices.Concat(f.falco, f.tetragon)
	res := &audit.Result{
		Snapshot:  &inventory.Snapshot{Source: inventory.Source{Kind: "events", Paths: paths, Cluster: cluster}},
		Findings:  audit.ApplyExceptions(all, cfg, time.Now(), cluster),
		Problems:  problems,
		Analyzers: []string{"events"},
	}
	return writeFindings(cmd, res, f.format, f.output, f.noColor, f.showSuppressed, threshold,
		"%d bad input%s: the findings above cover everything else")
}

func countStdin(paths []string) int {
	n := 0
	for _, p := range paths {
		if p == "-" {
			n++
		}
	}
	return n
}
