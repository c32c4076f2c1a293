package checks

import "redoubt.dev/redoubt/internal/finding"

// seccompProfileMissing reports the Pod Security Standards check "seccompProfile_restricted", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Seccomp profiles must be specified, and only runtime default and localhost profiles are
// allowed.
//
// Restricted fields: spec.securityContext.seccompProfile.type and the same field of every
// container (container-level fields may be undefined if the pod-level field is set).
// Allowed values: RuntimeDefault, Localhost.
var seccompProfileMissing = registerPSS("seccompProfile_restricted", finding.Rule{
	ID:          "seccomp-profile-missing",
	Title:       "Seccomp profile not set",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{pssReference("seccompProfile_restricted"), "cis:5.6.2"},
	Description: "Without a seccomp profile the container may run Unconfined (the kubelet's default on many nodes), with every system call available. Pod Security Standards (restricted) require a profile.",
	Remediation: "Set spec.securityContext.seccompProfile.type: RuntimeDefault at pod level.",
})
