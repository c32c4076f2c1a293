package checks

import "redoubt.dev/redoubt/internal/finding"

// procMount reports the Pod Security Standards check "procMount", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// The default /proc masks are set up to reduce attack surface, and should be required by the
// baseline policy unless the pod is in a user namespace ("hostUsers: false").
//
// Restricted fields: spec.containers[*].securityContext.procMount and the same field of init and
// ephemeral containers.
// Allowed values: undefined, "Default" (or any value if hostUsers is false).
var procMount = registerPSS("procMount", finding.Rule{
	ID:          "proc-mount",
	Title:       "Unmasked /proc",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("procMount")},
	Description: "An unmasked /proc exposes kernel interfaces the runtime normally hides, which helps an attacker escape the container. Pod Security Standards (baseline) forbid it outside user namespaces.",
	Remediation: "Remove securityContext.procMount or set it to Default.",
})
