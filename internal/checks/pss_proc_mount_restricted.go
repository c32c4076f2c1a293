package checks

import "redoubt.dev/redoubt/internal/finding"

// procMountRestricted reports the Pod Security Standards check "procMount_restricted", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// The default /proc masks are set up to reduce attack surface, and should be required by the
// restricted profile.
//
// Restricted fields: spec.containers[*].securityContext.procMount and the same field of init and
// ephemeral containers.
// Allowed values: undefined, "Default".
var procMountRestricted = registerPSS("procMount_restricted", finding.Rule{
	ID:          "proc-mount-restricted",
	Title:       "Unmasked /proc in a user namespace",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("procMount_restricted")},
	Description: "An unmasked /proc exposes kernel interfaces the runtime normally hides. Pod Security Standards (restricted) forbid it even in user namespaces, from v1.35.",
	Remediation: "Remove securityContext.procMount or set it to Default.",
})
