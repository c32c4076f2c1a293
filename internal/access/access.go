// Package access is the RBAC analyzer: it reports bindings that hand out dangerous permissions
// (cluster-admin, reading Secrets everywhere, running workloads, escalating, reaching nodes,
// ...), roles that use wildcards, and bindings of the default service accounts, each against the
// CIS Kubernetes Benchmark section 5.1 where one applies. It also sums up, per workload, what its
// service account can do (Summarize), for `redoubt inventory` and the risk ranking.
//
// Kubernetes' own roles and bindings (the kubernetes.io/bootstrapping=rbac-defaults objects the
// API server creates) are evaluated like any other, but not reported while they are unchanged:
// a default binding counts as unchanged only when its role reference and subjects equal the
// v1.37 default exactly and its role's rules do too. A binding merely named like a default
// (system:...) is reported like any other.
package access

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/rbac"
)

// Context is what the access checks see.
type Context struct {
	Snapshot *inventory.Snapshot
	Config   *config.Config
	Policy   *rbac.Policy
}

type check struct {
	rule *finding.Rule
	run  func(c *Context, rule *finding.Rule) []finding.Finding
}

var registry []check

func register(rule finding.Rule, run func(c *Context, rule *finding.Rule) []finding.Finding) *finding.Rule {
	r := finding.Register(rule)
	registry = append(registry, check{rule: r, run: run})
	return r
}

// Run applies every access check to the snapshot.
func Run(s *inventory.Snapshot, cfg *config.Config) []finding.Finding {
	return RunWith(s, cfg, rbac.NewPolicy(s, rbac.Options{}))
}

// RunWith is Run with the snapshot's RBAC policy already built (internal/audit builds it once
// per snapshot and shares it with the risk ranking).
func RunWith(s *inventory.Snapshot, cfg *config.Config, p *rbac.Policy) []finding.Finding {
	if cfg == nil {
		cfg = config.Default()
	}
	c := &Context{Snapshot: s, Config: cfg, Policy: p}
	var out []finding.Finding
	for _, chk := range registry {
		out = append(out, chk.run(c, chk.rule)...)
	}
	return out
}

// reported reports whether a binding's grants are the user's doing: not a default, not added
// by Redoubt for manifests.
func reported(b *rbac.Binding) bool { return !b.BuiltIn && !b.Implied && !b.RoleMissing }

// bindingFinding makes a finding about a binding.
func (c *Context) bindingFinding(rule *finding.Rule, b *rbac.Binding, msg string) finding.Finding {
	res := finding.Resource{Cluster: c.Snapshot.Source.Cluster, Namespace: b.Namespace, Kind: b.Kind, Name: b.Name}
	loc := finding.Location{File: b.Origin.File, Line: b.Origin.Line, UID: b.Origin.UID}
	f := rule.New(res, loc, msg)
	f.Evidence = map[string]any{"role": b.RoleString(), "subjects": subjectStrings(b.Subjects, b)}
	return f
}

func subjectStrings(subjects []rbacv1.Subject, b *rbac.Binding) []string {
	out := make([]string, 0, len(subjects))
	for _, s := range subjects {
		out = append(out, rbac.SubjectString(s, b.Namespace))
	}
	return out
}

// scope renders where a binding grants.
func scope(b *rbac.Binding) string {
	if b.ClusterWide() {
		return "in every namespace"
	}
	return "in namespace " + b.Namespace
}

// grantsClusterAdmin reports whether a binding grants every verb on every resource everywhere.
func grantsClusterAdmin(b *rbac.Binding) bool {
	return b.ClusterWide() && slices.ContainsFunc(b.Rules, func(r rbacv1.PolicyRule) bool { return rbac.IsClusterAdmin(&r) })
}

// bindingScope says which bindings a permission check looks at.
type bindingScope int

const (
	anyScope        bindingScope = iota // every binding
	clusterWideOnly                     // ClusterRoleBindings only
	namespacedOnly                      // RoleBindings only
)

func (s bindingScope) includes(b *rbac.Binding) bool {
	switch s {
	case clusterWideOnly:
		return b.ClusterWide()
	case namespacedOnly:
		return !b.ClusterWide()
	}
	return true
}

// permissionCheck reports bindings that grant one dangerous permission. Bindings that grant
// cluster-admin are left to rbac-cluster-admin, which says everything at once.
func permissionCheck(id string, which bindingScope) func(c *Context, rule *finding.Rule) []finding.Finding {
	perm := rbac.PermissionByID(id)
	if perm == nil {
		panic("access: no permission " + id)
	}
	return func(c *Context, rule *finding.Rule) []finding.Finding {
		var out []finding.Finding
		for _, b := range c.Policy.Bindings {
			if !reported(b) || grantsClusterAdmin(b) || !which.includes(b) || len(b.Subjects) == 0 {
				continue
			}
			var allowed []string
			var via []string
			for i := range b.Rules {
				reqs := perm.Allows(&b.Rules[i], b.ClusterWide())
				if len(reqs) == 0 {
					continue
				}
				via = append(via, rbac.RuleString(b.Rules[i]))
				for _, r := range reqs {
					allowed = append(allowed, requestString(r))
				}
			}
			if len(allowed) == 0 {
				continue
			}
			if len(perm.AlsoNeeds) > 0 {
				// What the authorizer allows, an admission plugin may still refuse: report the
				// binding only when one of its subjects also holds what the plugin asks for.
				var also []string
				for _, s := range b.Subjects {
					for _, r := range perm.UsableThrough(c.Policy, rbac.SubjectUser(s, b)) {
						also = append(also, requestString(r)+" "+r.Name)
					}
				}
				if len(also) == 0 {
					continue
				}
				allowed = append(allowed, compact(also)...)
			}
			allowed = compact(allowed)
			f := c.bindingFinding(rule, b, fmt.Sprintf("%s grants %s %s to %s through %s (%s)",
				b.String(), strings.Join(allowed, ", "), scope(b), strings.Join(subjectStrings(b.Subjects, b), ", "), b.RoleString(), strings.Join(compact(via), "; ")))
			f.Evidence["permission"] = id
			f.Evidence["allows"] = allowed
			f.Evidence["clusterWide"] = b.ClusterWide()
			out = append(out, f)
		}
		return out
	}
}

func requestString(r rbac.Request) string {
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	if r.APIGroup != "" {
		res += "." + r.APIGroup
	}
	return r.Verb + " " + res
}

func compact(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// Summarize fills each workload summary's Access with its service account's capability classes
// (rbac.CapabilitiesOf), most powerful first: "cluster-admin", "read-secrets in shop-api", ...
func Summarize(s *inventory.Snapshot, sums []inventory.WorkloadSummary) {
	capabilities := capabilitiesBySA(rbac.NewPolicy(s, rbac.Options{}))
	for i := range sums {
		sum := &sums[i]
		for _, r := range capabilities(sum.Namespace, sum.ServiceAccount) {
			sum.Access = append(sum.Access, r.String())
		}
	}
}

// WorkloadAccess is what a workload's service account can do.
type WorkloadAccess struct {
	ServiceAccount string
	// TokenMounted is false when the pods do not mount the account's token.
	TokenMounted bool
	Reach        []rbac.Reach
}

// ForWorkloads computes every workload's access, keyed by Workload.Key().
func ForWorkloads(s *inventory.Snapshot) map[string]WorkloadAccess {
	return ForWorkloadsWith(s, rbac.NewPolicy(s, rbac.Options{}))
}

// ForWorkloadsWith is ForWorkloads with the snapshot's RBAC policy already built.
func ForWorkloadsWith(s *inventory.Snapshot, p *rbac.Policy) map[string]WorkloadAccess {
	capabilities := capabilitiesBySA(p)
	out := make(map[string]WorkloadAccess, len(s.Workloads))
	for _, w := range s.Workloads {
		sa := w.ServiceAccountName()
		out[w.Key()] = WorkloadAccess{ServiceAccount: sa, TokenMounted: s.TokenMounted(w), Reach: capabilities(w.Namespace, sa)}
	}
	return out
}

// capabilitiesBySA returns a function giving a service account's capability classes, computed
// once per account: most workloads of a namespace share one. Callers must not modify the result.
func capabilitiesBySA(p *rbac.Policy) func(namespace, name string) []rbac.Reach {
	memo := map[string][]rbac.Reach{}
	return func(namespace, name string) []rbac.Reach {
		key := namespace + "/" + name
		r, ok := memo[key]
		if !ok {
			r = p.CapabilitiesOf(rbac.ServiceAccountUser(namespace, name))
			memo[key] = r
		}
		return r
	}
}
