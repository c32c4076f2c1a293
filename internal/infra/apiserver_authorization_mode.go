package infra

import (
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// authorizationModes returns the API server's authorizers in order, or ok=false when they are
// configured in an --authorization-config file Redoubt does not read.
func authorizationModes(i *controlplane.Instance) (modes []string, ok bool) {
	if i.Flags.Value("authorization-config") != "" {
		return nil, false
	}
	for _, m := range i.Flags.List("authorization-mode") {
		if m = strings.TrimSpace(m); m != "" {
			modes = append(modes, m)
		}
	}
	if len(modes) == 0 {
		// kube-apiserver's default when neither flag is given (pkg/kubeapiserver/options).
		modes = []string{"AlwaysAllow"}
	}
	return modes, true
}

// apiserverAuthorizationAlwaysAllow forbids the AlwaysAllow authorizer: every authenticated
// request (and every anonymous one, when anonymous auth is on) is allowed, RBAC or not. It reads
// --authorization-mode (whose default is AlwaysAllow).
var apiserverAuthorizationAlwaysAllow = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-authorization-always-allow",
	Title:       "API server authorizes every request",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Critical,
	References:  []string{"cis:1.2.6"},
	Description: "The API server's authorization mode includes AlwaysAllow (the flag's default): any request that reaches that authorizer is allowed, whatever RBAC says.",
	Remediation: "Set --authorization-mode=Node,RBAC on kube-apiserver.",
}, func(c *Context, i *controlplane.Instance) verdict {
	modes, ok := authorizationModes(i)
	if !ok {
		return unknown("authorizers are configured in --authorization-config %s, which Redoubt does not read", i.Flags.Value("authorization-config"))
	}
	if slices.Contains(modes, "AlwaysAllow") {
		return fail("%s: AlwaysAllow authorizes every request", i.Flags.Describe("authorization-mode")).with("modes", modes)
	}
	return pass()
})

// apiserverAuthorizationMode requires the Node and RBAC authorizers: RBAC so that permissions
// are granted explicitly, Node so that each kubelet may only read what its own pods need.
var apiserverAuthorizationMode = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-authorization-mode",
	Title:       "API server lacks the Node or RBAC authorizer",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.7", "cis:1.2.8"},
	Description: "The API server's --authorization-mode does not include both Node and RBAC. Without RBAC permissions cannot be granted and audited per role; without Node every kubelet can read every Secret and ConfigMap its group is granted, not just its own pods'.",
	Remediation: "Set --authorization-mode=Node,RBAC on kube-apiserver, and enable the NodeRestriction admission plugin with it.",
}, func(c *Context, i *controlplane.Instance) verdict {
	modes, ok := authorizationModes(i)
	if !ok {
		return unknown("authorizers are configured in --authorization-config %s, which Redoubt does not read", i.Flags.Value("authorization-config"))
	}
	var missing []string
	for _, want := range []string{"Node", "RBAC"} {
		if !slices.Contains(modes, want) {
			missing = append(missing, want)
		}
	}
	if len(missing) == 0 {
		return pass()
	}
	return fail("%s lacks %s", i.Flags.Describe("authorization-mode"), strings.Join(missing, " and ")).with("modes", modes, "missing", missing)
})
