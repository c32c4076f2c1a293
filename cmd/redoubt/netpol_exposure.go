package main

import (
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/netpol"
)

func newNetpolExposureCmd() *cobra.Command {
	f := &netpolFlags{}
	var (
		format     string
		ingressNS  string
		ingressLbl map[string]string
		workload   string
	)
	cmd := &cobra.Command{
		Use:   "exposure [PATH...]",
		Short: "Show what can reach each workload: other namespaces, any address, outside the cluster",
		Long: `For every workload, show what can reach it: the workloads of other namespaces
(and any pod in any namespace, including namespaces created later), addresses
outside the cluster's pods, and the ways in from outside the cluster
(LoadBalancer and NodePort Services, external IPs, Ingresses) with whether the
policies let that traffic through.

Ingress traffic comes from the ingress controller: the workloads in
--ingress-namespace whose pods carry --ingress-labels, or, when the snapshot
has none, a pod with those labels standing in for it.`,
		Example: `  redoubt netpol exposure examples/shop
  redoubt netpol exposure --context prod --format json
  redoubt netpol exposure examples/shop --workload shop-data/postgres`,
		RunE: func(cmd *cobra.Command, args []string) error {
			format = tableFormat(format)
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			a, err := f.analyze(cmd, args)
			if err != nil {
				return err
			}
			ic := netpol.IngressController{Namespace: ingressNS, Labels: ingressLbl}
			var xs []netpol.Exposure
			if workload != "" {
				w, err := netpol.FindWorkload(a.Snapshot, workload)
				if err != nil {
					return usageError("--workload %v", err)
				}
				xs = append(xs, a.Exposure(w, ic))
			} else {
				xs = a.Exposures(ic)
			}
			err = writeOutput(cmd, f.output, func(w io.Writer) error {
				if format == "json" {
					return netpol.WriteExposuresJSON(w, xs)
				}
				return netpol.WriteExposures(w, xs)
			})
			if err != nil {
				return err
			}
			return finish(cmd, analysisProblems(a), a.Notes)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVar(&workload, "workload", "", "only this workload (namespace/name)")
	cmd.Flags().StringVar(&ingressNS, "ingress-namespace", netpol.DefaultIngressController.Namespace, "namespace of the ingress controller")
	cmd.Flags().StringToStringVar(&ingressLbl, "ingress-labels", netpol.DefaultIngressController.Labels, "pod labels of the ingress controller")
	return cmd
}
