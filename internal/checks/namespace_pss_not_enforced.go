package checks

import (
	"fmt"

	"k8s.io/pod-security-admission/api"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// namespacePSSNotEnforced requires every namespace that runs workloads (and every Namespace
// object in a set of manifests) to enforce a Pod Security Standard of at least baseline through
// the label pod-security.kubernetes.io/enforce. Without it the API server admits privileged
// pods there, whatever this scan says about today's manifests. The audit and warn labels are
// read and reported alongside, as they tell whether someone is preparing to enforce.
var namespacePSSNotEnforced = register(finding.Rule{
	ID:          "namespace-pss-not-enforced",
	Title:       "Namespace does not enforce Pod Security",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.2.1"},
	Description: "The namespace has no pod-security.kubernetes.io/enforce label, or enforces only privileged, so the API server will admit privileged and host-access pods there, whatever the manifests reviewed today say.",
	Remediation: "Label the namespace pod-security.kubernetes.io/enforce=restricted (or baseline where restricted is not yet possible), with a matching enforce-version; use the warn and audit labels first to see what would be refused.",
}, func(c *Context, e *emitter) {
	s := c.Snapshot
	count := map[string]int{}
	for _, w := range s.Workloads {
		count[w.Namespace]++
	}
	for _, ns := range s.Namespaces {
		if ns.Implied || (count[ns.Name] == 0 && s.Source.Kind == inventory.SourceCluster) {
			continue
		}
		enforce := ns.Labels[api.EnforceLevelLabel]
		level, err := api.ParseLevel(enforce)
		var problem string
		switch {
		case enforce == "":
			problem = "has no " + api.EnforceLevelLabel + " label"
		case err != nil:
			problem = fmt.Sprintf("has an invalid %s label %q, which the API server treats as privileged", api.EnforceLevelLabel, enforce)
		case level == api.LevelPrivileged:
			problem = "enforces only the privileged level"
		default:
			continue
		}
		also := ""
		if a := ns.Labels[api.AuditLevelLabel]; a != "" {
			also += fmt.Sprintf("; audit=%s", a)
		}
		if w := ns.Labels[api.WarnLevelLabel]; w != "" {
			also += fmt.Sprintf("; warn=%s", w)
		}
		f := e.object("", "Namespace", ns.Name, ns.Origin, "namespace %q %s%s", ns.Name, problem, also)
		f.Resource.Namespace = ns.Name
		f.Evidence = map[string]any{"enforce": enforce, "audit": ns.Labels[api.AuditLevelLabel], "warn": ns.Labels[api.WarnLevelLabel]}
	}
})
