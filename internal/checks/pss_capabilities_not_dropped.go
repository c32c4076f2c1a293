package checks

import "redoubt.dev/redoubt/internal/finding"

// capabilitiesNotDropped reports the Pod Security Standards check "capabilities_restricted", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Containers must drop ALL, and may only add NET_BIND_SERVICE.
//
// Restricted fields: securityContext.capabilities.drop and .add of every container, init container
// and ephemeral container.
// Allowed values: drop must include ALL; add may only hold NET_BIND_SERVICE.
var capabilitiesNotDropped = registerPSS("capabilities_restricted", finding.Rule{
	ID:          "capabilities-not-dropped",
	Title:       "Capabilities not dropped",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("capabilities_restricted"), "cis:5.2.10", "cis:5.2.8"},
	Description: "The runtime's default capability set (NET_RAW, CHOWN, SETUID and others) is more than most processes need; NET_RAW alone allows spoofed packets on the pod network. Pod Security Standards (restricted) require dropping ALL.",
	Remediation: "Set securityContext.capabilities.drop: [ALL] and add back only NET_BIND_SERVICE if the process binds a port below 1024.",
})
