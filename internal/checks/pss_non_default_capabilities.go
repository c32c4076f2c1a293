package checks

import "redoubt.dev/redoubt/internal/finding"

// nonDefaultCapabilities reports the Pod Security Standards check "capabilities_baseline", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Adding NET_RAW or capabilities beyond the default set must be disallowed.
//
// Restricted fields: spec.containers[*].securityContext.capabilities.add and the same field of
// init and ephemeral containers.
// Allowed values: undefined, empty, or values from the default set AUDIT_WRITE, CHOWN,
// DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID,
// SYS_CHROOT.
var nonDefaultCapabilities = registerPSS("capabilities_baseline", finding.Rule{
	ID:          "non-default-capabilities",
	Title:       "Capabilities beyond the default set",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("capabilities_baseline"), "cis:5.2.9"},
	Description: "Capabilities beyond the container runtime's default set hand parts of root's power to the container: SYS_ADMIN alone is close to privileged. Pod Security Standards (baseline) forbid adding them.",
	Remediation: "Remove the capabilities from securityContext.capabilities.add. If the process truly needs one, run it in a dedicated namespace with an exception that names the reason.",
})
