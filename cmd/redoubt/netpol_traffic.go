package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/netpol/flow"
	"redoubt.dev/redoubt/internal/netpol/traffic"
)

// flowFlags read flow files.
type flowFlags struct {
	files    []string
	maxBytes int64
}

func (f *flowFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.files, "flows", nil, "flow file: Hubble JSON (hubble observe -o json) or the simple JSON/CSV format, optionally gzip-compressed (repeatable; required)")
	cmd.Flags().Int64Var(&f.maxBytes, "max-flow-file-size", flow.DefaultLimits.MaxBytes>>20, "largest flow file read, in MiB after decompression")
}

// read reads every flow file; a file that cannot be read at all is an input error.
func (f *flowFlags) read() ([]*flow.Result, error) {
	if len(f.files) == 0 {
		return nil, usageError("--flows FILE is required")
	}
	lim := flow.DefaultLimits
	lim.MaxBytes = f.maxBytes << 20
	var out []*flow.Result
	for _, p := range f.files {
		res, err := flow.ReadFile(p, lim)
		if err != nil {
			return nil, &exitError{code: exitInput, err: err}
		}
		out = append(out, res)
	}
	return out, nil
}

func newNetpolTrafficCmd() *cobra.Command {
	f := &netpolFlags{}
	ff := &flowFlags{}
	var format string
	cmd := &cobra.Command{
		Use:   "traffic --flows FILE... [PATH...]",
		Short: "Compare observed flows with what the policies allow",
		Long: `Read observed flows and compare them with the policies of the manifests or
cluster given: flows the policies do not allow (unexpected communication),
allowed connections no flow used, and for every policy rule, peer and port how
many flows it matched, so unused rules stand out.

Flow files are Cilium Hubble's JSON export (hubble observe -o json; replies are
skipped) or a simple format, JSON (one object per line, or an array) or CSV
with a header:

  {"time": "2026-01-02T15:04:05Z", "src": "10.244.1.7", "srcPort": 40312,
   "dst": "10.96.0.20", "dstPort": 8080, "protocol": "TCP", "bytes": 5120,
   "srcWorkload": "shop-web/web", "dstWorkload": "shop-api/api"}

  time,src,src_port,dst,dst_port,protocol,bytes,src_workload,dst_workload

Addresses map to workloads through the snapshot: pod addresses, and Service
cluster IPs to the workloads behind them (with the Service port translated to
the target port). When an address is not a known pod (manifests have no pod
addresses), Hubble's pod metadata or the *Workload fields name the workload;
pods outside the snapshot that Hubble describes by namespace and labels are
evaluated by those. Other addresses are outside the cluster; private ones are
listed, since they usually mean a pod the snapshot does not know.`,
		Example: `  redoubt netpol traffic --flows examples/shop/flows/hubble.json examples/shop
  hubble observe -o json --since 24h > flows.json && redoubt netpol traffic --flows flows.json --context prod`,
		RunE: func(cmd *cobra.Command, args []string) error {
			format = tableFormat(format)
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			results, err := ff.read()
			if err != nil {
				return err
			}
			a, err := f.analyze(cmd, args)
			if err != nil {
				return err
			}
			r := traffic.Compare(a, results, ff.files)
			err = writeOutput(cmd, f.output, func(w io.Writer) error {
				if format == "json" {
					return traffic.WriteJSON(w, r)
				}
				return traffic.WriteText(w, r)
			})
			if err != nil {
				return err
			}
			for _, p := range r.Problems {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: flow", p)
			}
			return finish(cmd, analysisProblems(a), a.Notes)
		},
	}
	f.register(cmd, true)
	ff.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
