package infra

import (
	"fmt"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// apiserverAuditPolicy judges what the audit policy (--audit-policy-file) records, read on the
// node: a policy whose rules all say None (or that has none) records nothing although the audit
// log exists, and a policy that records Secrets at Request or RequestResponse level writes the
// Secrets' contents into the audit log, where whoever reads the log reads them. Rules are taken
// in order, the first that matches a request decides, as the API server does.
var apiserverAuditPolicy = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-audit-policy",
	Title:       "Audit policy records nothing, or records Secret contents",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:3.2.1", "cis:3.2.2"},
	Description: "The API server's audit policy logs nothing (no rules, or every rule at level None), so the audit log stays empty; or it logs Secrets (or ConfigMaps and TokenReviews with them) at Request or RequestResponse level, copying Secret values and tokens into the audit log.",
	Remediation: "Start the policy with a rule logging secrets, configmaps and tokenreviews at Metadata level, then log other requests at Metadata or RequestResponse as needed, and end with a catch-all Metadata rule.",
}, func(c *Context, i *controlplane.Instance) verdict {
	path := i.Flags.Value("audit-policy-file")
	if path == "" {
		return pass() // apiserver-audit-log reports the missing policy
	}
	hf := c.hostFile(i, path)
	switch {
	case hf == nil:
		return unknown("the audit policy %s is on the control-plane node; run `redoubt node audit` there to read it", path)
	case !hf.Read:
		return unknown("the audit policy %s could not be read: %s", path, hf.Error)
	}
	if hf.Path != path {
		path = fmt.Sprintf("%s (%s on the node)", path, hf.Path)
	}
	if !slices.ContainsFunc(hf.AuditPolicy, func(r inventory.AuditPolicyRule) bool { return r.Level != "" && r.Level != "None" }) {
		return fail("audit policy %s records nothing: %d rule%s, none above level None", path, len(hf.AuditPolicy), plural(len(hf.AuditPolicy))).with("file", path)
	}
	if n, r, ok := secretBodies(hf.AuditPolicy); ok {
		return fail("audit policy %s rule %d logs secrets at level %s: Secret values are written to the audit log", path, n+1, r.Level).
			with("file", path, "rule", n+1, "level", r.Level)
	}
	return pass()
})

// secretBodies finds the first rule, in order, that logs some request on Secrets with its body,
// unless an earlier rule catches every request on Secrets at a lower level.
func secretBodies(rules []inventory.AuditPolicyRule) (int, inventory.AuditPolicyRule, bool) {
	for n, r := range rules {
		all, some := matchesSecrets(r)
		if !some {
			continue
		}
		if r.Level == "Request" || r.Level == "RequestResponse" {
			return n, r, true
		}
		if all {
			return 0, inventory.AuditPolicyRule{}, false
		}
	}
	return 0, inventory.AuditPolicyRule{}, false
}

// matchesSecrets says whether a rule matches some requests on core Secrets, and whether it
// matches all of them (no limit on users, groups, verbs, namespaces or names).
func matchesSecrets(r inventory.AuditPolicyRule) (all, some bool) {
	if len(r.NonResourceURLs) > 0 && len(r.Resources) == 0 {
		return false, false
	}
	unlimited := len(r.Users) == 0 && len(r.UserGroups) == 0 && len(r.Verbs) == 0 && len(r.Namespaces) == 0
	if len(r.Resources) == 0 {
		return unlimited, true
	}
	for _, g := range r.Resources {
		if g.Group != "" && g.Group != "*" {
			continue
		}
		if len(g.Resources) == 0 || slices.ContainsFunc(g.Resources, func(s string) bool {
			return s == "secrets" || s == "*" || s == "*/*" || strings.HasPrefix(s, "secrets/")
		}) {
			return unlimited && len(g.ResourceNames) == 0, true
		}
	}
	return false, false
}
