package checks

import "redoubt.dev/redoubt/internal/finding"

// windowsHostProcess reports the Pod Security Standards check "windowsHostProcess", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// Windows pods offer the ability to run HostProcess containers which enables privileged access
// to the Windows node. Privileged access to the host is disallowed in the baseline policy.
//
// Restricted fields: spec.securityContext.windowsOptions.hostProcess and the same field of every
// container.
// Allowed values: false, undefined.
var windowsHostProcess = registerPSS("windowsHostProcess", finding.Rule{
	ID:          "windows-host-process",
	Title:       "Windows HostProcess container",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("windowsHostProcess"), "cis:5.2.11"},
	Description: "A Windows HostProcess container runs directly on the node with the privileges of a host process. Pod Security Standards (baseline) forbid it.",
	Remediation: "Remove windowsOptions.hostProcess.",
})
