package netcheck

import "redoubt.dev/redoubt/internal/finding"

// networkPolicyInvalid forbids network policies the API server refuses: an invalid label
// selector, a CIDR that does not parse, an except outside its cidr, a port out of range, an
// endPort below its port or beside a named port, a peer naming both ipBlock and a selector, an
// admin policy priority outside 0-1000, and the like. Such a manifest fails to apply, so the
// isolation it was written for does not exist. Redoubt leaves it out of the analysis.
var _ = register(finding.Rule{
	ID:          "network-policy-invalid",
	Title:       "Network policy the API server refuses",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"k8s:networkpolicy-validation"},
	Description: "The network policy breaks the API's validation rules, so applying it fails and the isolation it describes is not in force. The message names the field at fault.",
	Remediation: "Fix the field the message names; `kubectl apply --dry-run=server -f FILE` confirms the API server accepts it.",
}, func(c *Context, e *emitter) {
	for _, r := range c.Analysis.Refused {
		e.policy(r.Ref, "%s", r.Reason)
	}
})
