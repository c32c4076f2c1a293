package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// kubeletHostnameOverride reports a kubelet that names itself with --hostname-override: the
// node name then no longer matches the host's name, and TLS between the API server and the
// kubelet (whose serving certificate names the host) fails verification unless checks are
// loosened. The flag is a command-line one only: it is judged where the command line is read
// (`redoubt node audit`), and a kubelet seen only through configz or its configuration file is
// not judged (one not-assessable note per node for an info check would drown the report).
var kubeletHostnameOverride = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-hostname-override",
	Title:       "Kubelet overrides its host name",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Info,
	References:  []string{"cis:4.2.7"},
	Description: "The kubelet runs with --hostname-override, so its node name differs from the host's and certificate-based verification of the kubelet by host name can break.",
	Remediation: "Remove --hostname-override from the kubelet's command line (some cloud providers need it; then keep it and accept this finding).",
}, func(c *Context, i *controlplane.Instance) verdict {
	if i.Flags == nil {
		return pass()
	}
	if !i.Flags.Given("hostname-override") {
		return pass()
	}
	return fail("%s: the node name differs from the host's", i.Flags.Describe("hostname-override")).with("hostnameOverride", i.Flags.Value("hostname-override"))
})
