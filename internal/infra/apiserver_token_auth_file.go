package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverTokenAuthFile forbids static token authentication (--token-auth-file): the tokens
// sit in clear text in a file on the control-plane nodes, never expire, and can only be changed
// by restarting the API server.
var apiserverTokenAuthFile = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-token-auth-file",
	Title:       "API server authenticates static tokens",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.2"},
	Description: "The API server reads a static token file (--token-auth-file). Those tokens are stored in clear text, never expire, and cannot be revoked without restarting the API server.",
	Remediation: "Remove --token-auth-file and authenticate people through OIDC or client certificates and workloads through service account tokens.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if f := i.Flags.Value("token-auth-file"); f != "" {
		return fail("--token-auth-file=%s: static tokens are accepted", f).with("file", f)
	}
	return pass()
})
