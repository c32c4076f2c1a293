package access

import "redoubt.dev/redoubt/internal/finding"

// rbacNodeProxy reports bindings that allow nodes/proxy: the kubelet API behind it runs
// commands in any container on the node, and requests through it bypass the API server's audit
// of exec and admission.
var rbacNodeProxy = register(finding.Rule{
	ID:          "rbac-node-proxy",
	Title:       "May reach kubelets through nodes/proxy",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.1.10"},
	Description: "A binding allows nodes/proxy: its subjects reach the kubelet API of every node, which can run commands in any container there, outside the API server's exec audit and admission.",
	Remediation: "Give monitoring agents the metrics endpoints they read (nodes/metrics, nodes/stats) instead of nodes/proxy.",
}, permissionCheck("node-proxy", anyScope))
