package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/netpol"
)

func newNetpolExplainCmd() *cobra.Command {
	f := &netpolFlags{}
	var (
		port   string
		format string
	)
	cmd := &cobra.Command{
		Use:   "explain SRC DST [PATH...]",
		Short: "Say whether SRC may connect to DST, and exactly which policies and rules decide it",
		Long: `Explain the connection from SRC to DST: what is allowed, and every policy and
rule that allows or denies it, on the source's egress side and the destination's
ingress side, with the file and line (or the live object) of each policy.

SRC and DST name a workload (namespace/name, namespace/Kind/name or a unique
name), an IP address (a live pod's address names its workload) or a CIDR.
Address ranges the policies treat differently are explained part by part.`,
		Example: `  redoubt netpol explain shop-web/web shop-api/api examples/shop
  redoubt netpol explain shop-web/web 10.1.2.3 --port 443/TCP examples/shop
  redoubt netpol explain 0.0.0.0/0 shop-web/web --context prod --format json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			format = tableFormat(format)
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			var pp *netpol.PortProto
			if port != "" {
				p, err := netpol.ParsePortProto(port)
				if err != nil {
					return usageError("--port: %v", err)
				}
				pp = &p
			}
			a, err := f.analyze(cmd, args[2:])
			if err != nil {
				return err
			}
			src, err := a.Resolve(args[0])
			if err != nil {
				return usageError("SRC %v", err)
			}
			dst, err := a.Resolve(args[1])
			if err != nil {
				return usageError("DST %v", err)
			}
			if !src.IsWorkload() && !dst.IsWorkload() {
				return usageError("SRC and DST are both addresses: name at least one workload")
			}
			exs := a.ExplainAll(src, dst)
			err = writeOutput(cmd, f.output, func(w io.Writer) error {
				if format == "json" {
					return netpol.WriteExplanationsJSON(w, exs, pp)
				}
				for _, ex := range exs {
					if err := netpol.WriteExplanation(w, ex, pp); err != nil {
						return err
					}
				}
				if src.Workload != nil {
					if cni := a.CNIPolicies(src.Workload); len(cni) > 0 {
						fmt.Fprintf(w, "warning: %s may also be governed by %v, which Redoubt does not analyse\n", src, cni)
					}
				}
				if dst.Workload != nil {
					if cni := a.CNIPolicies(dst.Workload); len(cni) > 0 {
						fmt.Fprintf(w, "warning: %s may also be governed by %v, which Redoubt does not analyse\n", dst, cni)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			return finish(cmd, analysisProblems(a), a.Notes)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&port, "port", "", "explain one port: PORT or PORT/PROTOCOL (TCP, UDP or SCTP; TCP when omitted)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
