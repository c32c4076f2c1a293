package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverServiceAccountLookup requires the API server to check that a service account token's
// account still exists (--service-account-lookup, default true): without it a token keeps working
// after its ServiceAccount was deleted.
var apiserverServiceAccountLookup = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-service-account-lookup",
	Title:       "Tokens of deleted service accounts still work",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.21"},
	Description: "With --service-account-lookup=false the API server accepts a service account token without checking that the account (and, for bound tokens, its pod) still exists, so deleting an account does not revoke its tokens.",
	Remediation: "Remove --service-account-lookup=false (the default is true).",
}, func(c *Context, i *controlplane.Instance) verdict {
	return boolFlag(i, "service-account-lookup", true, "tokens of deleted service accounts stay valid")
})

// apiserverServiceAccountKeyFile requires the public keys that verify service account tokens to
// be named (--service-account-key-file), so keys can be rotated by listing old and new ones
// rather than by the API server falling back to its serving key.
var apiserverServiceAccountKeyFile = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-service-account-key-file",
	Title:       "No service account verification key",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.22"},
	Description: "The API server has no --service-account-key-file: service account tokens are then verified with the serving key, which cannot be rotated without invalidating every token.",
	Remediation: "Set --service-account-key-file to the public key(s) matching the controller manager's --service-account-private-key-file.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return requireFlags(i, "service account tokens are verified with the serving key", "service-account-key-file")
})
