package auditlog

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// New ClusterRoles with wildcards.
//
// Forbids the successful create, update or patch of a ClusterRole whose rules hold "*" in
// verbs, resources, apiGroups or nonResourceURLs, by anyone but the API server bootstrapping
// its defaults (system:apiserver). A wildcard grants every resource an API adds later as well,
// custom resources and subresources such as pods/exec and secrets included; a wildcard role
// appearing at run time is a backdoor as often as a shortcut (MITRE ATT&CK T1098.006). The rules
// are read from the request body (level Request). Severity high; critical for verbs, resources
// and apiGroups all "*" (cluster-admin under another name).
var clusterRoleWildcard = finding.Register(finding.Rule{
	ID:       "audit-clusterrole-wildcard",
	Title:    "ClusterRole written with wildcards",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows a ClusterRole created or changed with \"*\" in its verbs, resources or API " +
		"groups: it grants everything matching, including resources added later.",
	Remediation: "List the verbs and resources the role's holders need instead of \"*\"; confirm with the user " +
		"named that the role was expected.",
	References: []string{"mitre:T1098.006"},
})

func init() { register(detectClusterRoleWildcard) }

func detectClusterRoleWildcard(a *Analyzer, e *Event) {
	if !rbacWrite(e, "clusterroles") {
		return
	}
	if as, _ := e.Actor(); as == "system:apiserver" {
		return
	}
	r := roleBody(e.Body())
	if r == nil {
		return
	}
	_, wild := dangerousRules(r.Rules)
	if len(wild) == 0 {
		return
	}
	res := objectResource(e)
	if res.Name == "*" && r.Name != "" {
		res.Name = r.Name
	}
	sev := clusterRoleWildcard.Severity
	all := strings.Join(wild, ",")
	if strings.Contains(all, "verbs *") && strings.Contains(all, "resources *") && strings.Contains(all, "apiGroups *") {
		sev = finding.Critical
	}
	a.report(e, hit{rule: clusterRoleWildcard, severity: sev, res: res,
		what:     fmt.Sprintf("ClusterRole %s written with %s", res.Name, strings.Join(wild, ", ")),
		evidence: map[string]any{"wildcards": wild}, key: all})
}
