package infra

import (
	"strconv"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// kubeletEventQPS forbids an unlimited event rate (eventRecordQPS: 0, --event-qps=0): the
// kubelet then posts every event it records, so a crash-looping or hostile pod can flood the API
// server and etcd with events, and the benchmark asks for a limit that still captures them.
var kubeletEventQPS = registerComponent(controlplane.Kubelet, finding.Rule{
	ID:          "kubelet-event-qps",
	Title:       "Kubelet event rate is unlimited",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:4.2.8"},
	Description: "The kubelet's eventRecordQPS is 0, which removes the limit on the events it sends: one noisy pod can flood the API server and etcd.",
	Remediation: "Set eventRecordQPS to a positive limit (the default is 50) in the kubelet's configuration file, and remove --event-qps=0.",
}, func(c *Context, i *controlplane.Instance) verdict {
	s := i.Kubelet.Get("eventRecordQPS")
	n, err := strconv.ParseInt(s.Value, 10, 32)
	if err != nil {
		return unknown("%s is not a number", i.Kubelet.Describe("eventRecordQPS"))
	}
	if n > 0 {
		return pass()
	}
	return fail("%s: events are posted without a rate limit", i.Kubelet.Describe("eventRecordQPS")).with("value", s.Value, "from", s.From)
})
