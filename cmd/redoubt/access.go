package main

import (
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/rbac"
	"redoubt.dev/redoubt/internal/report"
)

func newAccessCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "Ask what RBAC allows: who can do something, and what someone can do",
		Long: `Evaluate RBAC the way the API server's RBAC authorizer does, over manifests or
a live cluster: RoleBindings and ClusterRoleBindings, aggregated ClusterRoles,
wildcards, and the groups every user and service account belongs to. For
manifests, Kubernetes' default roles and bindings (v1.37) fill in what the files
refer to but do not define, such as cluster-admin.

Members of system:masters are allowed everything before RBAC is asked; the
Node authorizer, which serves kubelets, is not modelled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newWhoCanCmd(), newCanCmd())
	return cmd
}

// loadForAccess reads the snapshot; -n names the namespace asked about, not a limit on what is
// read, so a live cluster is read whole.
func loadForAccess(cmd *cobra.Command, source *sourceFlags, args []string) (*inventory.Snapshot, string, error) {
	ns := source.namespace
	src := *source
	src.namespace = ""
	snap, err := src.load(cmd.Context(), cmd, args)
	return snap, ns, err
}

func newWhoCanCmd() *cobra.Command {
	var (
		source      sourceFlags
		subresource string
		format      string
		output      string
	)
	cmd := &cobra.Command{
		Use:   "who-can VERB RESOURCE [NAME] [-- PATH...]",
		Short: "List the subjects allowed to do something",
		Long: `List every user, group and service account allowed VERB on RESOURCE (in the
namespace -n names, or in all namespaces and cluster-scoped without it), with
the bindings and roles that allow it.

RESOURCE is spelled as kubectl spells it: pods, deployments.apps, pods/exec,
certificatesigningrequests.certificates.k8s.io/approval, or a non-resource URL
such as /healthz. Manifest paths come after --.`,
		Example: `  redoubt access who-can get secrets -n shop-api -- examples/shop
  redoubt access who-can create pods --subresource exec -n shop-api --context prod
  redoubt access who-can '*' '*'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			words, paths := splitDash(cmd, args)
			if len(words) < 2 || len(words) > 3 {
				return usageError("who-can wants VERB RESOURCE [NAME], got %d argument%s", len(words), plural(len(words)))
			}
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			snap, ns, err := loadForAccess(cmd, &source, paths)
			if err != nil {
				return err
			}
			name := ""
			if len(words) == 3 {
				name = words[2]
			}
			req, err := rbac.ParseRequest(words[0], words[1], subresource, name, ns)
			if err != nil {
				return usageError("%v", err)
			}
			holders := rbac.NewPolicy(snap, rbac.Options{}).WhoCan(req)
			return writeOutput(cmd, output, func(w io.Writer) error {
				if format == "json" {
					return report.WhoCanJSON(w, req, holders)
				}
				return report.WhoCanTable(w, req, holders)
			})
		},
	}
	source.register(cmd)
	cmd.Flags().StringVar(&subresource, "subresource", "", "the subresource (exec, log, status, token, approval, ...)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

// splitDash separates the words of the question from manifest paths given after "--".
func splitDash(cmd *cobra.Command, args []string) (words, paths []string) {
	if at := cmd.ArgsLenAtDash(); at >= 0 {
		return args[:at], args[at:]
	}
	return args, nil
}

func newCanCmd() *cobra.Command {
	var (
		source sourceFlags
		groups []string
		format string
		output string
	)
	cmd := &cobra.Command{
		Use:   "can SUBJECT [-- PATH...]",
		Short: "List what a subject can do, and what it adds up to",
		Long: `List every rule that reaches SUBJECT, grouped by where it applies (every
namespace, or one), with the binding and role it comes through, and sum them
up as capability classes: cluster-admin, escalate, node-access, run-workloads,
read-secrets, cluster-wide. Wildcards are spelled out.

SUBJECT is user:NAME, group:NAME or sa:NAMESPACE/NAME (or the account's user
name, system:serviceaccount:NAMESPACE:NAME). A user belongs to
system:authenticated and to the groups --group adds; a service account to
system:serviceaccounts, system:serviceaccounts:NAMESPACE and
system:authenticated. -n shows only that namespace's grants and the
cluster-wide ones. Manifest paths come after --.`,
		Example: `  redoubt access can sa:monitoring/log-shipper -- examples/shop
  redoubt access can user:alice --group dev --context prod`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			words, paths := splitDash(cmd, args)
			if len(words) != 1 {
				return usageError("can wants one SUBJECT, got %d argument%s", len(words), plural(len(words)))
			}
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			user, subject, err := rbac.ParseSubject(words[0], groups)
			if err != nil {
				return usageError("%v", err)
			}
			snap, ns, err := loadForAccess(cmd, &source, paths)
			if err != nil {
				return err
			}
			p := rbac.NewPolicy(snap, rbac.Options{})
			var grants []rbac.Grant
			for _, g := range p.Grants(user) {
				if ns == "" || g.Scope() == "" || g.Scope() == ns {
					grants = append(grants, g)
				}
			}
			reach := p.CapabilitiesOf(user)
			who := rbac.SubjectString(subject, "")
			return writeOutput(cmd, output, func(w io.Writer) error {
				if format == "json" {
					return report.CanJSON(w, who, user, reach, grants)
				}
				return report.CanTable(w, who, user, reach, grants)
			})
		},
	}
	source.register(cmd)
	cmd.Flags().StringArrayVar(&groups, "group", nil, "a group the user belongs to (repeatable)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}
