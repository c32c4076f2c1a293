package netcheck

import (
	"redoubt.dev/redoubt/internal/finding"
)

// sensitiveWorkloadCrossNamespace forbids sensitive workloads (databases and other datastores,
// workloads annotated redoubt.dev/sensitive: "true", or selected by network.sensitive in the
// policy file) that pods of other namespaces can reach: any workload of another namespace in
// the snapshot, or an unlabelled pod in a namespace the snapshot does not know (which stands for
// every namespace, including ones created later). A datastore should accept connections only
// from the workloads that own its data.
var _ = register(finding.Rule{
	ID:          "sensitive-workload-cross-namespace",
	Title:       "Sensitive workload reachable from other namespaces",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"nsa:network-separation", "mitre:T1210"},
	Description: "A sensitive workload (a datastore, or one marked sensitive) accepts connections from pods of other namespaces. One compromised pod anywhere in the cluster can then reach the data directly.",
	Remediation: "Isolate the workload for ingress and allow only its clients by namespace (kubernetes.io/metadata.name) and pod labels, on its service port. Mark workloads that are not sensitive with the annotation redoubt.dev/sensitive: \"false\".",
}, func(c *Context, e *emitter) {
	for _, w := range c.Snapshot.Workloads {
		ok, why := Sensitive(c.Snapshot, c.Config, w)
		if !ok {
			continue
		}
		if c.Analysis.WorkloadEndpoint(w).HostNetwork() {
			continue
		}
		peers, anyNS := c.Analysis.ReachableFromOtherNamespaces(w)
		if len(peers) == 0 && anyNS.IsEmpty() {
			continue
		}
		var who []string
		for _, p := range peers {
			who = append(who, p.Peer.String()+" ("+p.Conns.String()+")")
		}
		var f *finding.Finding
		if !anyNS.IsEmpty() {
			f = e.workload(w, "sensitive because it %s, and any pod in any namespace can connect to it (%s)", why, anyNS)
		} else {
			f = e.workload(w, "sensitive because it %s, and %d workload(s) of other namespaces can connect to it: %s", why, len(peers), names(who, 3))
		}
		f.Evidence = map[string]any{"reason": why, "anyNamespace": anyNS.String(), "from": who}
	}
})
