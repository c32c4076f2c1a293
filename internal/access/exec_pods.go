package access

import "redoubt.dev/redoubt/internal/finding"

// rbacExecPods reports bindings that allow pods/exec, pods/attach or pods/portforward: running
// commands in, or connecting to, existing containers, with their service accounts, Secrets and
// network position.
var rbacExecPods = register(finding.Rule{
	ID:          "rbac-exec-pods",
	Title:       "May exec into pods",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"mitre:T1609"},
	Description: "A binding allows pods/exec, pods/attach or pods/portforward: its subjects can run commands in running containers and use everything those containers can.",
	Remediation: "Grant exec only to people who debug that namespace, ideally through a just-in-time role, never to service accounts.",
}, permissionCheck("exec-pods", anyScope))
