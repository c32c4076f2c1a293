package checks

import "redoubt.dev/redoubt/internal/finding"

// hostProbes reports the Pod Security Standards check "hostProbesAndHostLifecycle", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// The host field is restricted in probes and lifecycle handlers.
//
// Restricted fields: host in livenessProbe, readinessProbe and startupProbe (httpGet and tcpSocket)
// and in lifecycle.postStart and lifecycle.preStop handlers, of every container.
// Allowed values: "", undefined.
var hostProbes = registerPSS("hostProbesAndHostLifecycle", finding.Rule{
	ID:          "host-probes",
	Title:       "Probe or lifecycle handler with a host",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("hostProbesAndHostLifecycle")},
	Description: "A probe or lifecycle handler with a host makes the kubelet send requests to an arbitrary address from the node's network position: a server-side request forgery. Pod Security Standards (baseline) forbid it from v1.34.",
	Remediation: "Remove the host field so the probe targets the pod's own IP.",
})
