package checks

import "redoubt.dev/redoubt/internal/finding"

// seccompUnconfined reports the Pod Security Standards check "seccompProfile_baseline", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// If seccomp profiles are specified, only runtime default and localhost profiles are allowed.
//
// Restricted fields: spec.securityContext.seccompProfile.type and the same field of every
// container, init container and ephemeral container.
// Allowed values: RuntimeDefault, Localhost, undefined.
var seccompUnconfined = registerPSS("seccompProfile_baseline", finding.Rule{
	ID:          "seccomp-unconfined",
	Title:       "Seccomp disabled",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("seccompProfile_baseline"), "cis:5.6.2"},
	Description: "An Unconfined seccomp profile lets the container make every system call, including the rarely used ones most kernel exploits need. Pod Security Standards (baseline) forbid it.",
	Remediation: "Set securityContext.seccompProfile.type to RuntimeDefault (or Localhost with a reviewed profile).",
})
