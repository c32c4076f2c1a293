package access

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/rbac"
)

// rbacWildcard forbids "*" in a Role's or ClusterRole's verbs, resources or API groups (Kubernetes'
// own unchanged roles excepted). A wildcard grants more than its author listed: every verb
// includes escalate, bind and impersonate; every resource includes Secrets, subresources such as
// pods/exec, and every custom resource installed later.
var rbacWildcard = register(finding.Rule{
	ID:          "rbac-wildcard",
	Title:       "Role uses wildcards",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.1.3"},
	Description: "A Role or ClusterRole grants \"*\" verbs, resources or API groups. Wildcards include permissions nobody wrote down: escalate, bind and impersonate; Secrets; subresources like pods/exec; and every resource a CRD adds later.",
	Remediation: "List the verbs, API groups and resources the role needs explicitly.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, r := range slices.Concat(c.Policy.ClusterRoles, c.Policy.Roles) {
		if r.BuiltIn || r.Implied || r.Aggregated {
			continue
		}
		var wild []string
		for _, pr := range r.Rules {
			if hasWildcard(pr) {
				wild = append(wild, rbac.RuleString(pr))
			}
		}
		if len(wild) == 0 {
			continue
		}
		res := finding.Resource{Cluster: c.Snapshot.Source.Cluster, Namespace: r.Namespace, Kind: r.Kind, Name: r.Name}
		f := rule.New(res, finding.Location{File: r.Origin.File, Line: r.Origin.Line, UID: r.Origin.UID},
			fmt.Sprintf("%s %s grants wildcards: %s", r.Kind, r.Name, strings.Join(wild, "; ")))
		f.Evidence = map[string]any{"rules": wild}
		out = append(out, f)
	}
	return out
})

func hasWildcard(r rbacv1.PolicyRule) bool {
	return slices.Contains(r.Verbs, rbacv1.VerbAll) || slices.Contains(r.Resources, rbacv1.ResourceAll) ||
		slices.Contains(r.APIGroups, rbacv1.APIGroupAll) || slices.ContainsFunc(r.Resources, func(s string) bool { return strings.HasPrefix(s, "*/") })
}
