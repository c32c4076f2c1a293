package main

import (
	"io"
	"os"
	"strings"

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

// accessInputErrors reports the snapshot's input problems after the answer, as every command
// does: an answer from files that could not all be read is exit 2.
func accessInputErrors(cmd *cobra.Command, snap *inventory.Snapshot) error {
	return inputErrors(cmd, snap.Problems, "%d input error%s: the answer above covers everything else")
}

// questionAndPaths separates the words of the question (at least minWords, at most maxWords)
// from manifest paths. Paths follow the words, as for every other command, or come after "--"
// (which always ends the question), or with -f. Flags after "--" are still flags. An optional
// word that contains a slash, is "-", or names an existing file or directory is a path: object
// names can hold none of those.
func questionAndPaths(cmd *cobra.Command, args []string, minWords, maxWords int) (words, paths []string, err error) {
	if at := cmd.ArgsLenAtDash(); at >= 0 {
		words, paths = args[:at], args[at:]
		if flagIn(paths) {
			if err := cmd.Flags().Parse(paths); err != nil {
				return nil, nil, usageError("%v (see %s --help)", err, cmd.CommandPath())
			}
			paths = cmd.Flags().Args()
		}
		return words, paths, nil
	}
	n := min(len(args), minWords)
	words, rest := args[:n], args[n:]
	for len(words) < maxWords && len(rest) > 0 && !isPath(rest[0]) {
		words, rest = append(words, rest[0]), rest[1:]
	}
	return words, rest, nil
}

func flagIn(args []string) bool {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			return true
		}
	}
	return false
}

func isPath(s string) bool {
	if s == "-" || strings.ContainsRune(s, '/') || strings.ContainsRune(s, os.PathSeparator) {
		return true
	}
	_, err := os.Stat(s)
	return err == nil
}

func newWhoCanCmd() *cobra.Command {
	var (
		source      sourceFlags
		subresource string
		format      string
		output      string
	)
	cmd := &cobra.Command{
		Use:   "who-can VERB RESOURCE [NAME] [PATH...]",
		Short: "List the subjects allowed to do something",
		Long: `List every user, group and service account allowed VERB on RESOURCE (in the
namespace -n names, or in all namespaces and cluster-scoped without it), with
the bindings and roles that allow it.

RESOURCE is spelled as kubectl spells it: pods, deployments.apps, pods/exec,
certificatesigningrequests.certificates.k8s.io/approval, or a non-resource URL
such as /healthz. Manifest paths follow (or -f PATH, or after --); a word
after RESOURCE that holds a slash or names an existing file or directory is a
path, not a NAME. Without paths, the cluster of the current context is read.`,
		Example: `  redoubt access who-can get secrets -n shop-api examples/shop
  redoubt access who-can get secrets db-password -n shop-data -f examples/shop
  redoubt access who-can create pods --subresource exec -n shop-api --context prod
  redoubt access who-can '*' '*'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			words, paths, err := questionAndPaths(cmd, args, 2, 3)
			if err != nil {
				return err
			}
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
			err = writeOutput(cmd, output, func(w io.Writer) error {
				if format == "json" {
					return report.WhoCanJSON(w, req, holders)
				}
				return report.WhoCanTable(w, req, holders)
			})
			if err != nil {
				return err
			}
			return accessInputErrors(cmd, snap)
		},
	}
	source.register(cmd)
	source.usage = "redoubt access who-can VERB RESOURCE PATH..."
	cmd.Flags().StringVar(&subresource, "subresource", "", "the subresource (exec, log, status, token, approval, ...)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

func newCanCmd() *cobra.Command {
	var (
		source sourceFlags
		groups []string
		format string
		output string
	)
	cmd := &cobra.Command{
		Use:   "can SUBJECT [PATH...]",
		Short: "List what a subject can do, and what it adds up to",
		Long: `List every rule that reaches SUBJECT, grouped by where it applies (every
namespace, or one), with the binding and role it comes through, and sum them
up as capability classes: cluster-admin, escalate, node-access, run-workloads,
read-secrets, cluster-wide. Wildcards are spelled out.

SUBJECT is user:NAME, group:NAME or sa:NAMESPACE/NAME (or NAMESPACE/NAME, or
the account's user name, system:serviceaccount:NAMESPACE:NAME); a bare NAME is
a user. A user belongs to
system:authenticated and to the groups --group adds; a service account to
system:serviceaccounts, system:serviceaccounts:NAMESPACE and
system:authenticated. -n shows only that namespace's grants and the
cluster-wide ones. Manifest paths follow (or -f PATH, or after --); without
them, the cluster of the current context is read.`,
		Example: `  redoubt access can monitoring/log-shipper examples/shop
  redoubt access can user:alice --group dev --context prod`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			words, paths, err := questionAndPaths(cmd, args, 1, 1)
			if err != nil {
				return err
			}
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
			err = writeOutput(cmd, output, func(w io.Writer) error {
				if format == "json" {
					return report.CanJSON(w, who, user, reach, grants)
				}
				return report.CanTable(w, who, user, reach, grants)
			})
			if err != nil {
				return err
			}
			return accessInputErrors(cmd, snap)
		},
	}
	source.register(cmd)
	source.usage = "redoubt access can SUBJECT PATH..."
	cmd.Flags().StringArrayVar(&groups, "group", nil, "a group the user belongs to (repeatable)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}
