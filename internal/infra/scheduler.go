package infra

import (
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// schedulerProfiling forbids the scheduler's /debug/pprof (on by default); --secure-port=0 passes.
var schedulerProfiling = registerComponent(controlplane.Scheduler, finding.Rule{
	ID:          "scheduler-profiling",
	Title:       "Scheduler profiling is on",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:1.4.1"},
	Description: "kube-scheduler serves /debug/pprof (--profiling defaults to true), revealing internals and letting callers load it.",
	Remediation: "Set --profiling=false on kube-scheduler.",
}, profilingOff)

// schedulerBindAddress requires the scheduler's secure port to listen on loopback only
// (--bind-address, default 0.0.0.0); --secure-port=0, which listens nowhere, passes.
var schedulerBindAddress = registerComponent(controlplane.Scheduler, finding.Rule{
	ID:          "scheduler-bind-address",
	Title:       "Scheduler listens on the network",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.4.2"},
	Description: "kube-scheduler's secure port listens on every interface (--bind-address defaults to 0.0.0.0), exposing its endpoints to the network.",
	Remediation: "Set --bind-address=127.0.0.1 on kube-scheduler.",
}, boundToLoopback)

// profilingOff passes a component that serves no /debug/pprof: --profiling=false, or a secure
// port of 0, which serves nothing at all. The controller manager and the scheduler share it.
func profilingOff(_ *Context, i *controlplane.Instance) verdict {
	if servesNothing(i) {
		return pass()
	}
	return boolFlag(i, "profiling", false, "/debug/pprof is served")
}

// boundToLoopback passes a component whose secure port listens on loopback only, or nowhere.
func boundToLoopback(_ *Context, i *controlplane.Instance) verdict {
	if servesNothing(i) {
		return pass()
	}
	if addr := i.Flags.Value("bind-address"); !loopback(addr) {
		return fail("%s: the secure port is reachable from the network", i.Flags.Describe("bind-address")).with("bindAddress", addr)
	}
	return pass()
}
