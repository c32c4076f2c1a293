package checks

import "redoubt.dev/redoubt/internal/finding"

// restrictedVolumeTypes reports the Pod Security Standards check "restrictedVolumes", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// In addition to restricting HostPath volumes, the restricted profile limits usage of inline pod
// volume sources to configMap, downwardAPI, emptyDir, projected, secret, csi,
// persistentVolumeClaim, ephemeral and image.
//
// Restricted fields: spec.volumes[*] of every other type (hostPath, nfs, iscsi, gitRepo, rbd,
// cephfs, glusterfs, the in-tree cloud disks and the rest).
// Allowed values: undefined.
var restrictedVolumeTypes = registerPSS("restrictedVolumes", finding.Rule{
	ID:          "restricted-volume-types",
	Title:       "Volume type outside the restricted set",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("restrictedVolumes")},
	Description: "Inline volume types outside the restricted set reach storage directly from the node (NFS, iSCSI, cloud disks) or run code on it (gitRepo), bypassing the PersistentVolume layer where access is reviewed. Pod Security Standards (restricted) forbid them.",
	Remediation: "Use a PersistentVolumeClaim, or one of configMap, downwardAPI, emptyDir, projected, secret, csi, ephemeral or image.",
})
