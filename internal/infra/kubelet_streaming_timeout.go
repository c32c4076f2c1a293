package infra

import (
	"time"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// kubeletStreamingTimeout forbids a kubelet that never closes idle streaming connections
// (streamingConnectionIdleTimeout: 0, --streaming-connection-idle-timeout=0): exec, attach and
// port-forward sessions then stay open forever, and a forgotten or hijacked session keeps its
// access to the container.
var kubeletStreamingTimeout = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-streaming-idle-timeout",
	Title:       "Kubelet never times out idle exec and port-forward sessions",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:4.2.5"},
	Description: "The kubelet's streamingConnectionIdleTimeout is 0, so idle exec, attach and port-forward connections are never closed and can be left open, or exhausted, indefinitely.",
	Remediation: "Set streamingConnectionIdleTimeout to a bounded duration (the default 4h0m0s, or shorter such as 5m) in the kubelet's configuration file, and remove --streaming-connection-idle-timeout=0.",
}, func(c *Context, i *controlplane.Instance) verdict {
	s := i.Kubelet.Get("streamingConnectionIdleTimeout")
	if s.Value == "0" {
		s.Value = "0s"
	}
	d, err := time.ParseDuration(s.Value)
	if err != nil {
		return unknown("%s is not a duration", i.Kubelet.Describe("streamingConnectionIdleTimeout"))
	}
	if d > 0 {
		return pass()
	}
	return fail("%s: idle streaming sessions are never closed", i.Kubelet.Describe("streamingConnectionIdleTimeout")).with("value", s.Value, "from", s.From)
})
