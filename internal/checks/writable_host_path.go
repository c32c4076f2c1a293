package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// writableHostPath forbids mounting a hostPath volume without readOnly: true. A writable host
// directory lets the pod change what the node (or the next pod scheduled there) reads and
// runs. Each container that mounts the volume writable is named.
var writableHostPath = registerWorkload(finding.Rule{
	ID:          "writable-host-path",
	Title:       "Host path mounted writable",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("hostPathVolumes"), "cis:5.2.12"},
	Description: "A hostPath volume mounted without readOnly lets the container write to the node's filesystem: planting binaries, cron jobs or configuration the node will act on, or tampering with other pods' data.",
	Remediation: "Mount the volume with readOnly: true, or replace it with an emptyDir or a PersistentVolumeClaim.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	hostPaths := map[string]string{}
	for _, v := range w.Template.Spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	if len(hostPaths) == 0 {
		return
	}
	for ct := range containers(&w.Template.Spec) {
		for _, m := range ct.VolumeMounts {
			p, ok := hostPaths[m.Name]
			if !ok || m.ReadOnly {
				continue
			}
			f := e.container(w, ct.Name, "%s %q mounts host path %s writable at %s", ct.Kind, ct.Name, p, m.MountPath)
			f.Evidence = map[string]any{"volume": m.Name, "hostPath": p, "mountPath": m.MountPath}
		}
	}
})
