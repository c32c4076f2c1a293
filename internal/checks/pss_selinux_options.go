package checks

import "redoubt.dev/redoubt/internal/finding"

// seLinuxOptions reports the Pod Security Standards check "seLinuxOptions", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Setting the SELinux type is restricted, and setting a custom SELinux user or role option is
// forbidden.
//
// Restricted fields: seLinuxOptions.type, .user and .role of the pod and of every container.
// Allowed values for type: undefined, empty, container_t, container_init_t, container_kvm_t;
// for user and role: undefined, empty.
var seLinuxOptions = registerPSS("seLinuxOptions", finding.Rule{
	ID:          "selinux-options",
	Title:       "Custom SELinux options",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("seLinuxOptions")},
	Description: "A custom SELinux type, user or role can lift the confinement SELinux puts on containers. Pod Security Standards (baseline) forbid it.",
	Remediation: "Remove seLinuxOptions, or keep only a type from the allowed set (container_t, container_init_t, container_kvm_t).",
})
