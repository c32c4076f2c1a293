package infra

import (
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverAdmissionRecommended asks for the two admission plugins the CIS benchmark names that
// are off by default: EventRateLimit, which caps the events a client can post (an event flood
// otherwise loads the API server and etcd), and AlwaysPullImages, which makes every pod pull its
// image with its own credentials, so a pod cannot run a private image another pod already pulled
// onto the node. Both are benchmark recommendations with costs (EventRateLimit needs an
// --admission-control-config-file; AlwaysPullImages makes starts depend on the registry), hence low.
var apiserverAdmissionRecommended = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-admission-plugins-recommended",
	Title:       "Admission plugins EventRateLimit or AlwaysPullImages not enabled",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:1.2.9", "cis:1.2.11"},
	Description: "The API server does not enable EventRateLimit (any client may flood it with events) or AlwaysPullImages (a pod on a node may run a private image that another pod's credentials pulled there).",
	Remediation: "Add EventRateLimit (with its limits in --admission-control-config-file) and AlwaysPullImages to --enable-admission-plugins on kube-apiserver.",
}, func(c *Context, i *controlplane.Instance) verdict {
	enabled := i.Flags.List("enable-admission-plugins")
	disabled := i.Flags.List("disable-admission-plugins")
	var missing []string
	for _, p := range []string{"EventRateLimit", "AlwaysPullImages"} {
		if !slices.Contains(enabled, p) || slices.Contains(disabled, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return pass()
	}
	return fail("%s not enabled (%s)", strings.Join(missing, " and "), i.Flags.Describe("enable-admission-plugins")).with("missing", missing)
})
