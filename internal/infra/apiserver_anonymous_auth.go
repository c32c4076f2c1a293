package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverAnonymousAuth forbids an API server that accepts anonymous requests: with
// --anonymous-auth=true (the default) every request without credentials is served as user
// system:anonymous in group system:unauthenticated, so a single careless RoleBinding to either
// opens the cluster to anyone who can reach the port. It reads --anonymous-auth; when
// --authentication-config is given without the flag, anonymous access is configured in that
// file and the live probe (apiserver-anonymous-access) is the evidence instead.
var apiserverAnonymousAuth = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-anonymous-auth",
	Title:       "API server accepts anonymous requests",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.1"},
	Description: "The API server runs with --anonymous-auth=true (its default): requests without credentials are served as system:anonymous, and any permission granted to system:anonymous or system:unauthenticated is open to whoever reaches the port.",
	Remediation: "Set --anonymous-auth=false on kube-apiserver (in a kubeadm cluster, in /etc/kubernetes/manifests/kube-apiserver.yaml), or restrict anonymous access to the health endpoints with an AuthenticationConfiguration (anonymous.conditions).",
}, func(c *Context, i *controlplane.Instance) verdict {
	if !i.Flags.Given("anonymous-auth") && i.Flags.Value("authentication-config") != "" {
		return unknown("anonymous access is configured in --authentication-config %s, which Redoubt does not read; see apiserver-anonymous-access for what the server answers", i.Flags.Value("authentication-config"))
	}
	return boolFlag(i, "anonymous-auth", false, "requests without credentials are served as system:anonymous")
})
