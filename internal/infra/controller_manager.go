package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// controllerManagerProfiling forbids the controller manager's /debug/pprof (on by default). With
// --secure-port=0 nothing is served and the check passes.
var controllerManagerProfiling = registerComponent(controlplane.ControllerManager, finding.Rule{
	ID:          "controller-manager-profiling",
	Title:       "Controller manager profiling is on",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:1.3.2"},
	Description: "kube-controller-manager serves /debug/pprof (--profiling defaults to true), revealing internals and letting callers load it.",
	Remediation: "Set --profiling=false on kube-controller-manager.",
}, profilingOff)

// controllerManagerBindAddress requires the controller manager's secure port to listen on the
// loopback address only (--bind-address, default 0.0.0.0): nothing off the node needs it, and
// its health, metrics and (with profiling) debug endpoints should not be reachable from the
// network. With --secure-port=0 nothing listens and the check passes.
var controllerManagerBindAddress = registerComponent(controlplane.ControllerManager, finding.Rule{
	ID:          "controller-manager-bind-address",
	Title:       "Controller manager listens on the network",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.3.7"},
	Description: "kube-controller-manager's secure port listens on every interface (--bind-address defaults to 0.0.0.0), exposing its endpoints to the network.",
	Remediation: "Set --bind-address=127.0.0.1 on kube-controller-manager.",
}, boundToLoopback)

// controllerManagerServiceAccountCredentials requires each controller to act with its own
// service account (--use-service-account-credentials): otherwise every controller runs with the
// controller manager's own, very broad, identity, and RBAC cannot limit any one of them.
var controllerManagerServiceAccountCredentials = registerComponent(controlplane.ControllerManager, finding.Rule{
	ID:          "controller-manager-service-account-credentials",
	Title:       "Controllers share one identity",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.3.3"},
	Description: "Without --use-service-account-credentials=true every controller calls the API with the controller manager's identity, so the least-privilege system:controller:* roles are not used.",
	Remediation: "Set --use-service-account-credentials=true on kube-controller-manager.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return boolFlag(i, "use-service-account-credentials", true, "every controller acts with the controller manager's identity")
})

// controllerManagerServiceAccountKeys requires the key that signs service account tokens
// (--service-account-private-key-file) and the CA handed to pods (--root-ca-file).
var controllerManagerServiceAccountKeys = registerComponent(controlplane.ControllerManager, finding.Rule{
	ID:          "controller-manager-service-account-keys",
	Title:       "Controller manager lacks token signing key or root CA",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.3.4", "cis:1.3.5"},
	Description: "kube-controller-manager has no --service-account-private-key-file (tokens cannot be signed with a key that can be rotated) or no --root-ca-file (pods cannot verify the API server's certificate).",
	Remediation: "Set --service-account-private-key-file and --root-ca-file on kube-controller-manager.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return requireFlags(i, "service account tokens and the CA bundle pods receive are not configured", "service-account-private-key-file", "root-ca-file")
})
