package checks

import "redoubt.dev/redoubt/internal/finding"

// privilegeEscalation reports the Pod Security Standards check "allowPrivilegeEscalation", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Privilege escalation (such as via set-user-ID or set-group-ID file mode) should not be allowed.
//
// Restricted fields: spec.containers[*].securityContext.allowPrivilegeEscalation and the same field
// of init and ephemeral containers.
// Allowed values: false.
var privilegeEscalation = registerPSS("allowPrivilegeEscalation", finding.Rule{
	ID:          "privilege-escalation-allowed",
	Title:       "Privilege escalation allowed",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("allowPrivilegeEscalation"), "cis:5.2.6"},
	Description: "Unless allowPrivilegeEscalation is false, a process can gain more privileges than its parent, through setuid binaries for instance. Pod Security Standards (restricted) require it to be false.",
	Remediation: "Set securityContext.allowPrivilegeEscalation: false on every container.",
})
