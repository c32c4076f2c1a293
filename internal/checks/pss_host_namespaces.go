package checks

import "redoubt.dev/redoubt/internal/finding"

// hostNamespaces reports the Pod Security Standards check "hostNamespaces", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Sharing the host network, PID, and IPC namespaces must be disallowed.
//
// Restricted fields: spec.hostNetwork, spec.hostPID, spec.hostIPC.
// Allowed values: undefined, false.
var hostNamespaces = registerPSS("hostNamespaces", finding.Rule{
	ID:          "host-namespaces",
	Title:       "Host namespaces shared",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("hostNamespaces"), "cis:5.2.3", "cis:5.2.4", "cis:5.2.5"},
	Description: "A pod in the host's network, PID or IPC namespace can see and talk to every process and socket of the node, bypassing NetworkPolicies and reading other pods' traffic and memory. Pod Security Standards (baseline) forbid it.",
	Remediation: "Remove hostNetwork, hostPID and hostIPC from the pod spec. Expose ports through a Service instead of the host network.",
})
