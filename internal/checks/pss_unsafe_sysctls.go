package checks

import "redoubt.dev/redoubt/internal/finding"

// unsafeSysctls reports the Pod Security Standards check "sysctls", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Sysctls can disable security mechanisms or affect all containers on a host, and should be
// disallowed except for an allowed "safe" subset: a sysctl is safe if it is namespaced in the
// container or the Pod, and isolated from other Pods or processes on the same Node.
//
// Restricted fields: spec.securityContext.sysctls[*].name.
// Allowed values: the safe set, which grows with the Kubernetes version (kernel.shm_rmid_forced,
// net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range,
// net.ipv4.ip_unprivileged_port_start, net.ipv4.ip_local_reserved_ports, net.ipv4.tcp_keepalive_*
// and others).
var unsafeSysctls = registerPSS("sysctls", finding.Rule{
	ID:          "unsafe-sysctls",
	Title:       "Unsafe sysctls",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("sysctls")},
	Description: "An unsafe sysctl changes kernel behaviour for the whole node, not just the pod. Pod Security Standards (baseline) forbid all but a safe, namespaced subset.",
	Remediation: "Remove the sysctl from spec.securityContext.sysctls, or configure it on the node instead.",
})
