package access

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	"redoubt.dev/redoubt/internal/finding"
)

// rbacAnonymousGrant forbids granting anything to system:anonymous or the
// system:unauthenticated group (Kubernetes' own discovery and health defaults excepted): with
// anonymous authentication on, that grant is open to anyone who reaches the API server.
var rbacAnonymousGrant = register(finding.Rule{
	ID:          "rbac-anonymous-grant",
	Title:       "Permissions granted to anonymous users",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:1.2.1"},
	Description: "A binding grants permissions to system:anonymous or system:unauthenticated. Wherever anonymous authentication is on, anyone who can reach the API server has them.",
	Remediation: "Remove system:anonymous and system:unauthenticated from the binding; grant the permission to authenticated identities.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, b := range c.Policy.Bindings {
		if !reported(b) || len(b.Rules) == 0 {
			continue
		}
		for _, s := range b.Subjects {
			if (s.Kind == rbacv1.UserKind && s.Name == "system:anonymous") || (s.Kind == rbacv1.GroupKind && s.Name == "system:unauthenticated") {
				out = append(out, c.bindingFinding(rule, b, fmt.Sprintf("%s grants %s %s to %s %s, that is to anyone who reaches the API server without credentials",
					b.String(), b.RoleString(), scope(b), s.Kind, s.Name)))
				break
			}
		}
	}
	return out
})
