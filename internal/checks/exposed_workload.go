package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// exposedWorkload records workloads reachable from outside the cluster: selected by a
// LoadBalancer or NodePort Service (or one with externalIPs), or behind an Ingress. It is
// information, not a fault: the risk ranking weighs every other finding about an exposed
// workload more heavily.
var exposedWorkload = registerWorkload(finding.Rule{
	ID:          "exposed-workload",
	Title:       "Exposed outside the cluster",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Info,
	References:  []string{"mitre:T1190"},
	Description: "The workload can be reached from outside the cluster through a LoadBalancer or NodePort Service, external IPs, or an Ingress. Exposure makes every other weakness of the workload more urgent.",
	Remediation: "Confirm the exposure is intended. Keep internal services on ClusterIP, restrict load balancers with loadBalancerSourceRanges, and put an authenticating proxy or WAF in front of Ingresses.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for _, svc := range w.Services {
		how := svc.ExternalExposure()
		if how == "" {
			continue
		}
		f := e.workload(w, "exposed by %s Service %q", how, svc.Name)
		f.Evidence = map[string]any{"service": svc.Name, "type": how}
	}
	for _, ing := range w.Ingresses {
		var hosts []string
		for _, r := range ing.Spec.Rules {
			if r.Host != "" {
				hosts = append(hosts, r.Host)
			}
		}
		if len(hosts) == 0 {
			hosts = []string{"*"}
		}
		f := e.workload(w, "exposed by Ingress %q for hosts %s", ing.Name, quote(hosts))
		f.Evidence = map[string]any{"ingress": ing.Name, "hosts": hosts}
	}
})
