package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// kubeletBool judges a boolean kubelet setting.
func kubeletBool(i *controlplane.Instance, key string, want bool, why string) verdict {
	v, ok := i.Kubelet.Bool(key)
	if !ok {
		return unknown("%s is not a boolean", i.Kubelet.Describe(key))
	}
	if v == want {
		return pass()
	}
	s := i.Kubelet.Get(key)
	return fail("%s: %s", i.Kubelet.Describe(key), why).with("setting", key, "value", s.Value, "from", s.From)
}

// kubeletAnonymousAuth forbids a kubelet that serves anonymous requests
// (authentication.anonymous.enabled, --anonymous-auth): its API runs commands in containers and
// reads their logs, and with anonymous auth on, authorization is all that stands between that API
// and anyone on the network.
var kubeletAnonymousAuth = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-anonymous-auth",
	Title:       "Kubelet accepts anonymous requests",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:4.2.1"},
	Description: "The kubelet serves requests without credentials (authentication.anonymous.enabled: true; the flag's default when no config file is used). Its API can exec into containers and read logs.",
	Remediation: "Set authentication.anonymous.enabled: false in the kubelet's configuration file (or --anonymous-auth=false).",
}, func(c *Context, i *controlplane.Instance) verdict {
	return kubeletBool(i, "authentication.anonymous.enabled", false, "requests without credentials reach the kubelet API")
})

// kubeletAuthorizationMode requires the kubelet to ask the API server whether a caller may use
// its API (authorization.mode: Webhook) instead of allowing every authenticated caller
// (AlwaysAllow, the flag's default).
var kubeletAuthorizationMode = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-authorization-mode",
	Title:       "Kubelet authorizes every caller",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:4.2.2"},
	Description: "The kubelet's authorization mode is not Webhook: every caller it authenticates (and, with anonymous auth, every caller) may exec into its pods.",
	Remediation: "Set authorization.mode: Webhook in the kubelet's configuration file (or --authorization-mode=Webhook) and authentication.webhook.enabled: true.",
}, func(c *Context, i *controlplane.Instance) verdict {
	s := i.Kubelet.Get("authorization.mode")
	if s.Value == "Webhook" {
		return pass()
	}
	return fail("%s: the kubelet does not ask the API server who may use it", i.Kubelet.Describe("authorization.mode")).with("value", s.Value, "from", s.From)
})

// kubeletClientCA requires the kubelet to authenticate callers by certificate
// (authentication.x509.clientCAFile), which is how the API server reaches it.
var kubeletClientCA = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-client-ca",
	Title:       "Kubelet verifies no client certificates",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:4.2.3"},
	Description: "The kubelet has no client CA (authentication.x509.clientCAFile, --client-ca-file), so it cannot authenticate the API server's client certificate.",
	Remediation: "Set authentication.x509.clientCAFile to the cluster CA in the kubelet's configuration.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if i.Kubelet.Get("authentication.x509.clientCAFile").Value == "" {
		return fail("%s: client certificates are not verified", i.Kubelet.Describe("authentication.x509.clientCAFile"))
	}
	return pass()
})

// kubeletReadOnlyPort forbids the kubelet's read-only port (readOnlyPort, --read-only-port;
// 10255 by default without a config file): it serves pod specs, environment and metrics with no
// authentication at all.
var kubeletReadOnlyPort = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-read-only-port",
	Title:       "Kubelet read-only port is open",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:4.2.4"},
	Description: "The kubelet serves its read-only port, which answers without any authentication with the node's pod specs (environment variables included) and metrics.",
	Remediation: "Set readOnlyPort: 0 in the kubelet's configuration file (or --read-only-port=0).",
}, func(c *Context, i *controlplane.Instance) verdict {
	s := i.Kubelet.Get("readOnlyPort")
	if s.Value == "0" {
		return pass()
	}
	return fail("%s: pod specs and metrics are served without authentication", i.Kubelet.Describe("readOnlyPort")).with("value", s.Value, "from", s.From)
})

// kubeletCertificateRotation requires the kubelet to renew its client certificate before it
// expires (rotateCertificates, --rotate-certificates): otherwise certificates are made long-lived
// to avoid outages, and a stolen one stays valid for years.
var kubeletCertificateRotation = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-certificate-rotation",
	Title:       "Kubelet does not rotate its certificate",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:4.2.10"},
	Description: "The kubelet does not rotate its client certificate (rotateCertificates is false, the default): the certificate must be long-lived, and a stolen one stays valid until it expires.",
	Remediation: "Set rotateCertificates: true in the kubelet's configuration file (or --rotate-certificates).",
}, func(c *Context, i *controlplane.Instance) verdict {
	return kubeletBool(i, "rotateCertificates", true, "the client certificate is never renewed")
})
