package infra

import (
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverEncryptionConfig requires encryption at rest (--encryption-provider-config): without
// it Secrets are stored in etcd in plain text, and anyone with a backup or read access to etcd
// has every credential of the cluster.
var apiserverEncryptionConfig = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-encryption-provider-config",
	Title:       "Secrets are not encrypted at rest",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.27"},
	Description: "The API server has no --encryption-provider-config, so Secrets are written to etcd, and to every etcd backup, in plain text.",
	Remediation: "Write an EncryptionConfiguration that encrypts secrets with kms (v2) or aescbc/aesgcm/secretbox, set --encryption-provider-config, and rewrite existing Secrets (kubectl get secrets -A -o json | kubectl replace -f -).",
}, func(c *Context, i *controlplane.Instance) verdict {
	return requireFlags(i, "Secrets are stored in etcd in plain text", "encryption-provider-config")
})

// realProviders encrypt; identity stores plain text.
var realProviders = []string{"kms", "aescbc", "aesgcm", "secretbox"}

// apiserverEncryptionProvider requires the encryption configuration to encrypt Secrets with a
// real provider: the first provider of the entry that covers secrets encrypts new writes, and
// identity there (or only identity) stores them in plain text. It needs the file, which a node
// source reads (never the keys); from anywhere else the check is not assessable.
var apiserverEncryptionProvider = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-encryption-provider",
	Title:       "Encryption configuration does not encrypt Secrets",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.28"},
	Description: "The encryption configuration writes Secrets with the identity provider (first in the list, or the only one), which stores them in plain text: the flag is set but nothing is encrypted.",
	Remediation: "Put kms (v2), aescbc, aesgcm or secretbox first in the providers for secrets, keep identity last only while migrating, then rewrite existing Secrets.",
}, func(c *Context, i *controlplane.Instance) verdict {
	path := i.Flags.Value("encryption-provider-config")
	if path == "" {
		return pass() // apiserver-encryption-provider-config reports the missing flag
	}
	hf := c.hostFile(i, path)
	switch {
	case hf == nil:
		return unknown("the encryption configuration %s is on the control-plane node; run `redoubt node audit` there to read it", path)
	case !hf.Read:
		return unknown("the encryption configuration %s could not be read: %s", path, hf.Error)
	}
	for _, e := range hf.Encryption {
		if !slices.ContainsFunc(e.Resources, func(r string) bool { return r == "secrets" || r == "*.*" || r == "*." }) {
			continue
		}
		if len(e.Providers) == 0 || !slices.Contains(realProviders, e.Providers[0]) {
			first := "none"
			if len(e.Providers) > 0 {
				first = e.Providers[0]
			}
			return fail("encryption configuration %s writes %s with provider %s (providers: %s): they are stored in plain text",
				path, strings.Join(e.Resources, ", "), first, strings.Join(e.Providers, ", ")).with("file", path, "providers", e.Providers)
		}
		return pass()
	}
	return fail("encryption configuration %s has no entry for secrets: they are stored in plain text", path).with("file", path)
})
