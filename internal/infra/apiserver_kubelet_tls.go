package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverKubeletClientCert requires the API server to authenticate itself to kubelets with a
// client certificate (--kubelet-client-certificate and --kubelet-client-key): without one, a
// kubelet that enforces authentication refuses exec, logs and port-forward, and one that does not
// serves them to anybody.
var apiserverKubeletClientCert = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-kubelet-client-certificate",
	Title:       "API server has no client certificate for kubelets",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.4"},
	Description: "The API server does not present a client certificate to kubelets (--kubelet-client-certificate, --kubelet-client-key), so kubelets cannot tell it from any other caller: either they accept unauthenticated exec and log requests, or those requests fail.",
	Remediation: "Issue the API server a client certificate the kubelets trust and set --kubelet-client-certificate and --kubelet-client-key.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return requireFlags(i, "the API server cannot authenticate to kubelets", "kubelet-client-certificate", "kubelet-client-key")
})

// apiserverKubeletCA requires the API server to verify kubelets' serving certificates
// (--kubelet-certificate-authority): without it the API server talks to any host that answers
// on a node's address, and a node impersonator receives exec sessions and their credentials.
var apiserverKubeletCA = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-kubelet-certificate-authority",
	Title:       "API server does not verify kubelet certificates",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.5"},
	Description: "Without --kubelet-certificate-authority the API server accepts any certificate from a kubelet, so traffic to kubelets (exec, attach, logs, port-forward) can be intercepted by whoever answers on a node's address.",
	Remediation: "Have kubelets serve certificates signed by a CA (serverTLSBootstrap: true and approve their CSRs) and set --kubelet-certificate-authority to that CA.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return requireFlags(i, "kubelet serving certificates are not verified", "kubelet-certificate-authority")
})
