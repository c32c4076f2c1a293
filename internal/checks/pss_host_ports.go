package checks

import "redoubt.dev/redoubt/internal/finding"

// hostPorts reports the Pod Security Standards check "hostPorts", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// HostPort ports must be forbidden.
//
// Restricted fields: spec.containers[*].ports[*].hostPort, spec.initContainers[*].ports[*].hostPort,
// spec.ephemeralContainers[*].ports[*].hostPort.
// Allowed values: undefined, 0.
var hostPorts = registerPSS("hostPorts", finding.Rule{
	ID:          "host-ports",
	Title:       "Host port",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("hostPorts"), "cis:5.2.13"},
	Description: "A hostPort binds the container to a port of the node's own address, outside the Service abstraction and often outside NetworkPolicy enforcement, and ties the pod to nodes where the port is free. Pod Security Standards (baseline) forbid it.",
	Remediation: "Remove hostPort and expose the container through a Service (ClusterIP, or NodePort/LoadBalancer where it must be reached from outside).",
})
