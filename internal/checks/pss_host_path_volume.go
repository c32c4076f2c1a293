package checks

import "redoubt.dev/redoubt/internal/finding"

// hostPathVolume reports the Pod Security Standards check "hostPathVolumes", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// HostPath volumes must be forbidden.
//
// Restricted fields: spec.volumes[*].hostPath.
// Allowed values: undefined.
var hostPathVolume = registerPSS("hostPathVolumes", finding.Rule{
	ID:          "host-path-volume",
	Title:       "HostPath volume",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("hostPathVolumes"), "cis:5.2.12"},
	Description: "A hostPath volume gives the pod a directory of the node's filesystem: a way to read other workloads' data, plant files the node executes, or escape the container. Pod Security Standards (baseline) forbid it. The checks sensitive-host-path and writable-host-path say how dangerous a given mount is.",
	Remediation: "Use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim instead of a hostPath volume.",
})
