package infra

import (
	"encoding/json"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// kubeletTLSCiphers forbids insecure TLS cipher suites on the kubelet's API (tlsCipherSuites,
// --tls-cipher-suites), the same list the API server is held to: RC4, 3DES, CBC-SHA256 and
// static RSA key exchange. Unset, the kubelet uses Go's defaults, which hold none of them.
var kubeletTLSCiphers = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-weak-tls-ciphers",
	Title:       "Kubelet allows weak TLS cipher suites",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:4.2.12"},
	Description: "The kubelet's tlsCipherSuites names insecure cipher suites (RC4, 3DES, CBC-SHA256) or static RSA key exchange (TLS_RSA_*, no forward secrecy) for its API, which carries exec, attach and log traffic.",
	Remediation: "Limit tlsCipherSuites in the kubelet's configuration file (or --tls-cipher-suites) to ECDHE suites with AES-GCM or ChaCha20-Poly1305, or leave it unset.",
}, func(c *Context, i *controlplane.Instance) verdict {
	s := i.Kubelet.Get("tlsCipherSuites")
	var list []string
	if strings.HasPrefix(strings.TrimSpace(s.Value), "[") {
		if err := json.Unmarshal([]byte(s.Value), &list); err != nil {
			return unknown("%s is not a list of cipher suites", i.Kubelet.Describe("tlsCipherSuites"))
		}
	} else if s.Value != "" {
		list = strings.Split(s.Value, ",")
	}
	weak := weakCipherSuites(list)
	if len(weak) == 0 {
		return pass()
	}
	return fail("tlsCipherSuites (%s) allows %s", s.From, strings.Join(weak, ", ")).with("weak", weak, "from", s.From)
})
