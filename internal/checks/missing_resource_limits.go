package checks

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// missingResourceLimits requires resources.limits.cpu and resources.limits.memory on every
// container and init container. A container without limits can starve its node: a leak or a
// compromised process (a crypto miner) takes CPU and memory from every other pod there.
var missingResourceLimits = registerWorkload(finding.Rule{
	ID:          "missing-resource-limits",
	Title:       "CPU or memory limit missing",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"nsa:kubernetes-hardening:resource-policies"},
	Description: "A container without CPU and memory limits can take all of its node's resources: one leak or one crypto miner degrades every other pod on the node.",
	Remediation: "Set resources.limits.cpu and resources.limits.memory on every container (or a LimitRange in the namespace that sets defaults).",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for ct := range containers(&w.Template.Spec) {
		if ct.Kind == Ephemeral {
			continue
		}
		var missing []string
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := ct.Resources.Limits[r]; !ok {
				missing = append(missing, string(r))
			}
		}
		if len(missing) > 0 {
			f := e.container(w, ct.Name, "%s %q has no %s limit", ct.Kind, ct.Name, strings.Join(missing, " or "))
			f.Evidence = map[string]any{"missing": missing}
		}
	}
})
