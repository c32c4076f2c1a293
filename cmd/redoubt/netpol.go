package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
)

func newNetpolCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "netpol",
		Short: "Network policy analysis: connectivity, explanations, exposure, diffs, flows and synthesis",
		Long: `Analyse what the NetworkPolicies (networking.k8s.io/v1) and the
AdminNetworkPolicies and BaselineAdminNetworkPolicies (policy.networking.k8s.io/v1alpha1)
of manifests or a live cluster allow, exactly as the API reference defines them.

Endpoints are workloads (pods roll up to their Deployment, StatefulSet, DaemonSet,
Job, CronJob, or ReplicaSet/bare Pod) and ranges of addresses outside the cluster's
pods. ipBlock peers are taken to name addresses outside the cluster's pods, and
the nodes: traffic from and to hostNetwork pods is the node's, which an ipBlock
admits when it holds every node address (--node-cidrs, else the Nodes' addresses;
unknown, only a block holding a whole address family does).
CNI-specific policies (CiliumNetworkPolicy, Calico NetworkPolicy) are recognised
but not analysed; every command says so when they are present.`,
	}
	cmd.AddCommand(newNetpolListCmd(), newNetpolExplainCmd(), newNetpolExposureCmd(), newNetpolDiffCmd(), newNetpolTrafficCmd(), newNetpolGenerateCmd())
	return cmd
}

// netpolFlags are the flags every netpol command shares.
type netpolFlags struct {
	source    sourceFlags
	output    string
	podCIDRs  []string
	nodeCIDRs []string
}

func (f *netpolFlags) register(cmd *cobra.Command, withSource bool) {
	if withSource {
		f.source.register(cmd)
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().StringSliceVar(&f.podCIDRs, "pod-cidr", nil, "the cluster's pod address ranges (default: the nodes' spec.podCIDRs when known); decide whether an AdminNetworkPolicy networks peer also matches pods")
	cmd.Flags().StringSliceVar(&f.nodeCIDRs, "node-cidrs", nil, "the nodes' addresses (default: the Nodes' InternalIP and ExternalIP when known); traffic of hostNetwork pods is theirs, admitted by ipBlocks that hold them all")
}

func (f *netpolFlags) options() (netpol.Options, error) {
	var o netpol.Options
	for _, s := range f.podCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return o, usageError("--pod-cidr %q: not a CIDR", s)
		}
		o.PodCIDRs = append(o.PodCIDRs, p)
	}
	for _, s := range f.nodeCIDRs {
		p, err := parseNodeCIDR(s)
		if err != nil {
			return o, usageError("--node-cidrs %q: not a CIDR or an address", s)
		}
		o.NodeCIDRs = append(o.NodeCIDRs, p)
	}
	return o, nil
}

// parseNodeCIDR reads a CIDR, or a single address as its own /32 or /128.
func parseNodeCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

// analyze loads the snapshot the arguments name and analyses it.
func (f *netpolFlags) analyze(cmd *cobra.Command, paths []string) (*netpol.Analysis, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	snap, err := f.source.load(cmd.Context(), cmd, paths)
	if err != nil {
		return nil, err
	}
	return netpol.Analyze(snap, opts), nil
}

// finish reports notes and input problems on standard error after the output was written,
// and turns problems into exit code 2.
func finish(cmd *cobra.Command, problems []inventory.Problem, notes []string) error {
	w := cmd.ErrOrStderr()
	for _, n := range notes {
		fmt.Fprintln(w, "note:", n)
	}
	return inputErrors(cmd, problems, "%d input error%s: the output above covers everything else")
}

func analysisProblems(a *netpol.Analysis) []inventory.Problem {
	return append(append([]inventory.Problem(nil), a.Snapshot.Problems...), a.Problems...)
}

func newNetpolListCmd() *cobra.Command {
	f := &netpolFlags{}
	var format string
	cmd := &cobra.Command{
		Use:   "list [PATH...]",
		Short: "List every allowed connection between workloads and outside addresses",
		Long: `List every connection the policies allow: between workloads, and between
workloads and ranges of addresses outside the cluster's pods (merged where the
policies allow the same), with protocols and ports.

Formats: table (one line per pair), json ({"connections": [...]}) and dot (Graphviz).`,
		Example: `  redoubt netpol list examples/shop
  redoubt netpol list --context prod --format json -o connections.json
  redoubt netpol list examples/shop --format dot | dot -Tsvg > shop.svg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			format = tableFormat(format)
			if !validFormat(format, netpol.ListFormats) {
				return usageError("--format %q: want %s", format, strings.Join(netpol.ListFormats, ", "))
			}
			a, err := f.analyze(cmd, args)
			if err != nil {
				return err
			}
			cs := a.Connections()
			if err := writeOutput(cmd, f.output, func(w io.Writer) error { return netpol.WriteConnections(w, format, cs) }); err != nil {
				return err
			}
			return finish(cmd, analysisProblems(a), a.Notes)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or dot")
	return cmd
}

// tableFormat reads the text format's old name, txt, as table: the name every command uses.
func tableFormat(format string) string {
	if format == "txt" {
		return "table"
	}
	return format
}

func validFormat(f string, formats []string) bool {
	for _, x := range formats {
		if f == x {
			return true
		}
	}
	return false
}
