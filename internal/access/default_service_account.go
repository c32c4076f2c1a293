package access

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/rbac"
)

// rbacDefaultServiceAccountBound forbids granting permissions to a namespace's "default" service
// account: every pod that names no service account runs as it, so the grant reaches workloads
// nobody meant it for.
var rbacDefaultServiceAccountBound = register(finding.Rule{
	ID:          "rbac-default-service-account-bound",
	Title:       "Default service account has permissions",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.1.5"},
	Description: "A binding grants permissions to a namespace's default service account. Every pod of that namespace that names no service account gets them.",
	Remediation: "Create a dedicated service account for the workload that needs the permissions, bind that, and remove the default account from the binding.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, b := range c.Policy.Bindings {
		if !reported(b) || len(b.Rules) == 0 {
			continue
		}
		var defaults []string
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == "default" {
				defaults = append(defaults, rbac.SubjectString(s, b.Namespace))
			}
		}
		if len(defaults) == 0 {
			continue
		}
		f := c.bindingFinding(rule, b, fmt.Sprintf("%s grants %s %s to %s: every pod there without its own service account gets it",
			b.String(), b.RoleString(), scope(b), strings.Join(defaults, ", ")))
		out = append(out, f)
	}
	return out
})
