package checks

import "redoubt.dev/redoubt/internal/finding"

// runAsRoot reports the Pod Security Standards check "runAsNonRoot", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Containers must be required to run as non-root users, unless the pod is in a user namespace
// ("hostUsers: false").
//
// Restricted fields: spec.securityContext.runAsNonRoot and the same field of every container.
// Allowed values: true; undefined at container level if the pod level is true; any value if
// hostUsers is false.
var runAsRoot = registerPSS("runAsNonRoot", finding.Rule{
	ID:          "run-as-root",
	Title:       "Container may run as root",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("runAsNonRoot"), "cis:5.2.7"},
	Description: "A process running as root in the container is root on the node as soon as it escapes, and can modify everything in the image. Pod Security Standards (restricted) require runAsNonRoot: true.",
	Remediation: "Set securityContext.runAsNonRoot: true (and a non-zero runAsUser) at pod level, and build the image with a non-root USER.",
})
