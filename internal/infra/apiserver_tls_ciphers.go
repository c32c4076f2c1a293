package infra

import (
	"crypto/tls"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// insecureCipherSuites are the suites Go itself calls insecure (RC4, 3DES, CBC with SHA-256),
// by their IANA names as --tls-cipher-suites takes them.
var insecureCipherSuites = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		m[s.Name] = true
	}
	return m
}()

// weakCipherSuites returns the suites of list that are insecure or use static RSA key exchange
// (TLS_RSA_*: no forward secrecy, so a stolen key decrypts every recorded session). The CIS
// benchmark's list of strong ciphers holds ECDHE suites only.
func weakCipherSuites(list []string) []string {
	var weak []string
	for _, s := range list {
		s = strings.TrimSpace(s)
		if insecureCipherSuites[s] || strings.HasPrefix(s, "TLS_RSA_") {
			weak = append(weak, s)
		}
	}
	return weak
}

// apiserverTLSCiphers forbids insecure TLS cipher suites on the API server
// (--tls-cipher-suites). Unset, the API server uses Go's default list, which holds none of
// them; set, it serves exactly what it names.
var apiserverTLSCiphers = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-weak-tls-ciphers",
	Title:       "API server allows weak TLS cipher suites",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.29"},
	Description: "The API server's --tls-cipher-suites names insecure suites (RC4, 3DES, CBC-SHA256) or static RSA key exchange (TLS_RSA_*, no forward secrecy), which a client or an attacker in the middle can negotiate down to.",
	Remediation: "Limit --tls-cipher-suites to ECDHE suites with AES-GCM or ChaCha20-Poly1305 (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256), or leave it unset.",
}, func(c *Context, i *controlplane.Instance) verdict {
	weak := weakCipherSuites(i.Flags.List("tls-cipher-suites"))
	if len(weak) == 0 {
		return pass()
	}
	return fail("--tls-cipher-suites allows %s", strings.Join(weak, ", ")).with("weak", weak)
})
