package access

import "redoubt.dev/redoubt/internal/finding"

// rbacCreateWorkloads reports bindings that let their subjects create pods, or the controllers
// that create pods (Deployments, DaemonSets, StatefulSets, ReplicaSets, Jobs, CronJobs,
// ReplicationControllers). A pod can mount any Secret and run as any service account of its
// namespace, so creating one is reading all of them, and acting as all of them.
var rbacCreateWorkloads = register(finding.Rule{
	ID:          "rbac-create-workloads",
	Title:       "May create pods or workloads",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.1.4"},
	Description: "A binding lets its subjects create pods or workload controllers. A pod can mount any Secret and use any service account of its namespace, so this permission includes theirs.",
	Remediation: "Limit pod and workload creation to the deployment pipeline's identity, in the namespaces it deploys to, and enforce Pod Security admission there.",
}, permissionCheck("create-workloads", anyScope))
