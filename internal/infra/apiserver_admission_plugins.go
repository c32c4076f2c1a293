package infra

import (
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverAdmissionPlugins requires the NodeRestriction admission plugin and forbids
// AlwaysAdmit. NodeRestriction limits each kubelet to modifying its own Node and its own pods
// (and the labels it may set), so one compromised node cannot relabel itself into other
// workloads' placement or rewrite other nodes; AlwaysAdmit disables admission control. It reads
// --enable-admission-plugins and --disable-admission-plugins (NodeRestriction is not among the
// defaults).
var apiserverAdmissionPlugins = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-admission-plugins",
	Title:       "Admission plugins: NodeRestriction missing or AlwaysAdmit on",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.10", "cis:1.2.14"},
	Description: "The API server does not enable the NodeRestriction admission plugin (so a kubelet may modify other nodes and any pod's status), or enables AlwaysAdmit (which admits everything).",
	Remediation: "Add NodeRestriction to --enable-admission-plugins, remove AlwaysAdmit from it, and keep NodeRestriction out of --disable-admission-plugins.",
}, func(c *Context, i *controlplane.Instance) verdict {
	enabled := i.Flags.List("enable-admission-plugins")
	disabled := i.Flags.List("disable-admission-plugins")
	var problems []string
	if !slices.Contains(enabled, "NodeRestriction") || slices.Contains(disabled, "NodeRestriction") {
		problems = append(problems, "NodeRestriction is not enabled")
	}
	if slices.Contains(enabled, "AlwaysAdmit") {
		problems = append(problems, "AlwaysAdmit is enabled")
	}
	if len(problems) == 0 {
		return pass()
	}
	return fail("%s (%s)", strings.Join(problems, "; "), i.Flags.Describe("enable-admission-plugins")).
		with("enabled", enabled, "disabled", disabled)
})
