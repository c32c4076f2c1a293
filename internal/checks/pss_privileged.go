package checks

import "redoubt.dev/redoubt/internal/finding"

// privilegedContainer reports the Pod Security Standards check "privileged", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Privileged Pods disable most security mechanisms and must be disallowed.
//
// Restricted fields: spec.containers[*].securityContext.privileged,
// spec.initContainers[*].securityContext.privileged, spec.ephemeralContainers[*].securityContext.privileged.
// Allowed values: false, undefined.
var privilegedContainer = registerPSS("privileged", finding.Rule{
	ID:          "privileged-container",
	Title:       "Privileged container",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("privileged"), "cis:5.2.2"},
	Description: "A privileged container runs with every capability and full access to the host's devices: anyone who controls it controls the node. Pod Security Standards (baseline) forbid it.",
	Remediation: "Remove securityContext.privileged: true. Grant only the specific capabilities the process needs, or move host-level work to a dedicated, audited DaemonSet.",
})
