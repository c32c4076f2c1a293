package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverProfiling forbids the API server's profiling endpoints (/debug/pprof, on by
// default): they reveal the program's internals and let a caller with access to them make it
// spend CPU at will.
var apiserverProfiling = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-profiling",
	Title:       "API server profiling is on",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:1.2.15"},
	Description: "The API server serves /debug/pprof (--profiling defaults to true). Profiles reveal internals and can be used to load the server.",
	Remediation: "Set --profiling=false on kube-apiserver.",
}, func(c *Context, i *controlplane.Instance) verdict {
	return boolFlag(i, "profiling", false, "/debug/pprof is served")
})
