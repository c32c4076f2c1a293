package netcheck

import "redoubt.dev/redoubt/internal/finding"

// networkPolicyNamedPortUndefined forbids named ports (ports[].port given as a name) that no
// pod the rule applies to defines for that protocol. A named port resolves on the destination
// pod: the selected pods for ingress rules, the peer's pods for egress rules. When none defines
// it, the port entry allows nothing, and the traffic it was written for is dropped.
var _ = register(finding.Rule{
	ID:          "network-policy-named-port-undefined",
	Title:       "Network policy names a port no pod defines",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"k8s:networkpolicy"},
	Description: "A rule allows a port by name, but no destination pod declares a container port of that name and protocol, so the entry allows nothing.",
	Remediation: "Use the name the pods declare in containers[].ports[].name (with the same protocol), or a port number.",
}, func(c *Context, e *emitter) {
	for _, u := range c.Analysis.UndefinedNamedPorts() {
		f := e.policy(u.Rule.Policy(), "%s.ports[%d]: no pod it applies to defines a %s port named %q, so the entry allows nothing",
			u.Rule.Path(), u.Index, u.Proto, u.Name)
		f.Evidence = map[string]any{"rule": u.Rule.Path(), "port": u.Name, "protocol": u.Proto.String()}
	}
})
