package infra

import (
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverAdmissionDisabled forbids turning off the ServiceAccount and NamespaceLifecycle
// admission plugins (--disable-admission-plugins; both are on by default). Without
// ServiceAccount, pods are not given a service account and may name any one, including one of
// another namespace's mounted tokens; without NamespaceLifecycle, objects can be created in a
// namespace being deleted or in one that does not exist, and the system namespaces can be deleted.
var apiserverAdmissionDisabled = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-admission-plugins-disabled",
	Title:       "Admission plugins ServiceAccount or NamespaceLifecycle disabled",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.12", "cis:1.2.13"},
	Description: "The API server disables the ServiceAccount admission plugin (pods are no longer bound to a service account of their namespace) or NamespaceLifecycle (objects can be created in terminating or missing namespaces, and default, kube-system and kube-public can be deleted).",
	Remediation: "Remove ServiceAccount and NamespaceLifecycle from --disable-admission-plugins on kube-apiserver.",
}, func(c *Context, i *controlplane.Instance) verdict {
	disabled := i.Flags.List("disable-admission-plugins")
	var off []string
	for _, p := range []string{"ServiceAccount", "NamespaceLifecycle"} {
		if slices.Contains(disabled, p) {
			off = append(off, p)
		}
	}
	if len(off) == 0 {
		return pass()
	}
	return fail("%s disabled (%s)", strings.Join(off, " and "), i.Flags.Describe("disable-admission-plugins")).with("disabled", off)
})
