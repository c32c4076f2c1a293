package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// kubeletServingCertificate requires the kubelet to serve its API with a certificate the API
// server can verify: either one it is given (tlsCertFile and tlsPrivateKeyFile) or one it
// requests from the cluster and rotates (serverTLSBootstrap, the kubelet's side of
// RotateKubeletServerCertificate). With neither, it generates a self-signed certificate, and
// the API server's connections to it (exec, logs, port-forward) cannot be authenticated.
var kubeletServingCertificate = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-serving-certificate",
	Title:       "Kubelet serves a self-signed certificate",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:4.2.9", "cis:4.2.11"},
	Description: "The kubelet has no serving certificate and key (tlsCertFile, tlsPrivateKeyFile) and does not request one from the cluster (serverTLSBootstrap: false), so it serves a self-signed certificate: the API server cannot verify whom it sends exec and log requests to.",
	Remediation: "Set serverTLSBootstrap: true in the kubelet's configuration file (and approve the kubelet-serving CSRs), or give it tlsCertFile and tlsPrivateKeyFile issued by the cluster CA.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if rotate, ok := i.Kubelet.Bool("serverTLSBootstrap"); ok && rotate {
		return pass()
	}
	if i.Kubelet.Get("tlsCertFile").Value != "" && i.Kubelet.Get("tlsPrivateKeyFile").Value != "" {
		return pass()
	}
	return fail("%s, %s and %s: the kubelet serves a self-signed certificate",
		i.Kubelet.Describe("tlsCertFile"), i.Kubelet.Describe("tlsPrivateKeyFile"), i.Kubelet.Describe("serverTLSBootstrap"))
})
