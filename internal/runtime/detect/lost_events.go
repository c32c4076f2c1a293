package detect

// Lost events: the sensor's kernel side could not hand events to user space because the ring
// buffer was full.
//
// Reads: the per-CPU loss counters of the sensor's eBPF programs, by event kind.
//
// Why: a detection that did not see an exec cannot fire; an attacker who floods a node with
// short processes could hide one among them. The sensor never drops silently: losses become
// this finding, so a gap in coverage is as visible as an attack.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/runtime/event"
)

var lostEventsRule = finding.Register(finding.Rule{
	ID:       "sensor-events-lost",
	Title:    "Runtime sensor lost events",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Medium,
	Description: "The node's sensor could not deliver some kernel events (its ring buffer was full), so " +
		"runtime detections did not see everything that happened on the node during that time.",
	Remediation: "Give the sensor more CPU (it fell behind reading), look for a process storm on the node " +
		"(thousands of short processes or connections a second), and check the sensor's resource limits.",
	References: []string{"redoubt:sensor"},
})

// LostEvents returns the alert for losses on node: total is every event lost since the sensor
// started, byKind the same split by event kind, and since how many were lost since the last
// report.
func LostEvents(node string, now time.Time, byKind map[event.Kind]uint64, since uint64) Alert {
	var parts []string
	var total uint64
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		if n := byKind[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
			total += n
		}
	}
	msg := fmt.Sprintf("the sensor lost %d events since the last report (%d since it started: %s)", since, total, strings.Join(parts, ", "))
	f := lostEventsRule.New(finding.Resource{Kind: "Node", Name: node}, finding.Location{Node: node}, msg)
	f.Evidence = map[string]any{"lost": byKind, "lostSinceLastReport": since}
	return Alert{Kind: "alert", Time: now, Finding: f}
}
