package checks

import "redoubt.dev/redoubt/internal/finding"

// runAsUserZero reports the Pod Security Standards check "runAsUser", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Containers must not set runAsUser: 0 unless the pod is in a user namespace ("hostUsers: false").
//
// Restricted fields: spec.securityContext.runAsUser and the same field of every container.
// Allowed values: non-zero values, undefined, any value if hostUsers is false.
var runAsUserZero = registerPSS("runAsUser", finding.Rule{
	ID:          "run-as-user-zero",
	Title:       "Container runs as UID 0",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("runAsUser"), "cis:5.2.7"},
	Description: "runAsUser: 0 runs the process as root explicitly, whatever the image says. Pod Security Standards (restricted) forbid it.",
	Remediation: "Set runAsUser to a non-zero UID, or remove it and build the image with a non-root USER.",
})
