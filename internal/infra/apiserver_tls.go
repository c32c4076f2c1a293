package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverTLS requires the API server to serve with a certificate and key it is given
// (--tls-cert-file, --tls-private-key-file). Without them it generates a self-signed
// certificate that clients cannot verify, which trains everyone to skip verification.
var apiserverTLS = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-serving-certificate",
	Title:       "API server serves a self-signed certificate",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.24"},
	Description: "The API server has no --tls-cert-file and --tls-private-key-file, so it serves a self-generated certificate clients cannot verify.",
	Remediation: "Issue the API server a serving certificate from the cluster CA and set --tls-cert-file and --tls-private-key-file.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return requireFlags(i, "the API server serves a self-signed certificate", "tls-cert-file", "tls-private-key-file")
})

// apiserverClientCA requires a client CA (--client-ca-file): without one no client certificate
// is accepted, and the components that authenticate with certificates (controller manager,
// scheduler, kubelets) fall back to weaker credentials.
var apiserverClientCA = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-client-ca",
	Title:       "API server verifies no client certificates",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.25"},
	Description: "The API server has no --client-ca-file, so it cannot authenticate clients by certificate; components then authenticate with bearer tokens instead.",
	Remediation: "Set --client-ca-file to the cluster CA bundle.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return requireFlags(i, "client certificates are not accepted", "client-ca-file")
})
