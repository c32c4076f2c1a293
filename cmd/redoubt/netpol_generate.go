package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/netpol/synth"
)

func newNetpolGenerateCmd() *cobra.Command {
	f := &netpolFlags{}
	ff := &flowFlags{}
	var (
		tighten bool
		v4, v6  int
		all     bool
	)
	cmd := &cobra.Command{
		Use:   "generate --flows FILE... [PATH...]",
		Short: "Write least-privilege NetworkPolicies from observed flows, or tighten existing ones",
		Long: `Write one readable NetworkPolicy per workload the flows involve: its pods
selected by the workload's own selector, peers by namespace name
(kubernetes.io/metadata.name) and the peer workload's labels, ports as
observed, DNS to the cluster's DNS pods by their own labels on UDP and TCP 53,
outside peers as CIDRs (aggregated to --ipv4-prefix and --ipv6-prefix bits).
Every rule carries a comment naming the flows that justify it. Flows the
network dropped are not granted.

With --tighten, the existing NetworkPolicies are patched instead: rules, peers
and ports no allowed flow matched are removed (a policy whose pods saw no flow
in a direction is left alone there), and every change is commented.

Before printing, the engine verifies the result, replacing the snapshot's
NetworkPolicies with it: every flow used must be allowed (otherwise the command
fails, exit 1), and whatever else it allows is summarised on standard error.
Flow formats are those of "redoubt netpol traffic".`,
		Example: `  redoubt netpol generate --flows examples/shop/flows/hubble.jsonl examples/shop > policies.yaml
  redoubt netpol generate --flows flows.json --context prod --ipv4-prefix 24
  redoubt netpol generate --tighten --flows flows.json k8s/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			results, err := ff.read()
			if err != nil {
				return err
			}
			a, err := f.analyze(cmd, args)
			if err != nil {
				return err
			}
			var res *synth.Result
			var header []string
			if tighten {
				res = synth.Tighten(a, results)
				header = []string{"NetworkPolicies tightened by redoubt netpol generate --tighten: what no allowed flow matched is removed.",
					"Flows: " + strings.Join(ff.files, ", ")}
			} else {
				res = synth.Generate(a, results, synth.Options{IPv4Prefix: v4, IPv6Prefix: v6, AllWorkloads: all})
				header = []string{"Least-privilege NetworkPolicies written by redoubt netpol generate from observed flows.",
					"Flows: " + strings.Join(ff.files, ", "),
					"Verified on their own, in place of the existing NetworkPolicies: every flow they were built from is allowed."}
			}
			w := cmd.ErrOrStderr()
			for _, n := range res.Notes {
				fmt.Fprintln(w, "note:", n)
			}
			fmt.Fprintf(w, "%d policies from %d flows (%d left out: dropped by the network or unreadable)\n", len(res.Policies), res.Used, res.Excluded)
			if !res.Verification.OK() {
				for _, d := range res.Verification.Denied {
					fmt.Fprintln(w, "verification: not allowed:", d)
				}
				return &exitError{code: exitFindings, err: fmt.Errorf("verification failed: %d flow(s) the proposed policies do not allow; nothing was written", len(res.Verification.Denied))}
			}
			fmt.Fprintf(w, "verified: all %d flows allowed\n", res.Used)
			if len(res.Verification.Extra) > 0 {
				fmt.Fprintf(w, "beyond the observed flows, the policies also allow:\n")
				for _, e := range res.Verification.Extra {
					fmt.Fprintln(w, "  "+e)
				}
			} else {
				fmt.Fprintln(w, "the policies allow nothing beyond the observed flows")
			}
			if err := writeOutput(cmd, f.output, func(w io.Writer) error { return synth.WriteYAML(w, header, res.Policies) }); err != nil {
				return err
			}
			return finish(cmd, analysisProblems(a), a.Notes)
		},
	}
	f.register(cmd, true)
	ff.register(cmd)
	cmd.Flags().BoolVar(&tighten, "tighten", false, "patch the existing NetworkPolicies instead: remove rules, peers and ports no flow matched")
	cmd.Flags().IntVar(&v4, "ipv4-prefix", 32, "aggregate outside IPv4 addresses into CIDRs of this many bits")
	cmd.Flags().IntVar(&v6, "ipv6-prefix", 128, "aggregate outside IPv6 addresses into CIDRs of this many bits")
	cmd.Flags().BoolVar(&all, "all-workloads", false, "also write deny-all policies for workloads no flow involved")
	return cmd
}
