package access

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"redoubt.dev/redoubt/internal/finding"
)

// rbacClusterAdmin forbids binding cluster-admin (or any ClusterRole that allows every verb on
// every resource) cluster-wide to anything but the break-glass groups the policy names
// (rbac.breakGlassGroups in .redoubt.yaml). Whoever holds it can read every Secret, run anything
// on any node and grant themselves whatever else they like: one stolen token of such a subject
// is the whole cluster.
var rbacClusterAdmin = register(finding.Rule{
	ID:          "rbac-cluster-admin",
	Title:       "cluster-admin bound outside break-glass",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Critical,
	References:  []string{"cis:5.1.1"},
	Description: "A ClusterRoleBinding grants every verb on every resource in every namespace (cluster-admin or an equivalent role) to a subject that is not a configured break-glass group. A compromise of that subject is a compromise of the whole cluster.",
	Remediation: "Bind a role with only the permissions the subject uses (often view, or a namespaced edit). Keep cluster-admin for a break-glass group listed in rbac.breakGlassGroups of .redoubt.yaml, used only in emergencies.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, b := range c.Policy.Bindings {
		if !reported(b) || !grantsClusterAdmin(b) {
			continue
		}
		var holders []rbacv1.Subject
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.GroupKind && slices.Contains(c.Config.BreakGlassGroups, s.Name) {
				continue
			}
			holders = append(holders, s)
		}
		if len(holders) == 0 {
			continue
		}
		f := c.bindingFinding(rule, b, fmt.Sprintf("%s grants %s (every verb on every resource, in every namespace) to %s",
			b.String(), b.RoleString(), strings.Join(subjectStrings(holders, b), ", ")))
		f.Evidence["holders"] = subjectStrings(holders, b)
		out = append(out, f)
	}
	return out
})
