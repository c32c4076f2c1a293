package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// writableRootFilesystem forbids containers whose root filesystem is writable: it requires
// securityContext.readOnlyRootFilesystem: true on every container and init container. A
// writable root filesystem lets an intruder download and run tools and persist changes for the
// life of the container.
var writableRootFilesystem = registerWorkload(finding.Rule{
	ID:          "writable-root-filesystem",
	Title:       "Writable root filesystem",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"nsa:kubernetes-hardening:immutable-filesystem"},
	Description: "The container can write to its own root filesystem, so an intruder can drop and run tools, or alter the application, for as long as the container lives.",
	Remediation: "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the application must write (/tmp, caches).",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for ct := range containers(&w.Template.Spec) {
		if ct.Kind == Ephemeral {
			continue
		}
		if !inventory.ResolveSecurity(&w.Template.Spec, ct.Container).ReadOnlyRootFilesystem {
			e.container(w, ct.Name, "%s %q does not set readOnlyRootFilesystem: true", ct.Kind, ct.Name)
		}
	}
})
