package access

import "redoubt.dev/redoubt/internal/finding"

// rbacReadSecretsClusterWide forbids reading Secrets (get, list or watch) in every namespace
// through a ClusterRoleBinding: the holder has every credential of the cluster, service account
// tokens of the most powerful controllers included. Namespaced Secret access is part of many
// applications' normal work and is not reported.
var rbacReadSecretsClusterWide = register(finding.Rule{
	ID:          "rbac-read-secrets-cluster-wide",
	Title:       "Secrets readable in every namespace",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.1.2"},
	Description: "A ClusterRoleBinding lets its subjects get, list or watch Secrets in every namespace: every credential of the cluster, including the tokens of powerful service accounts.",
	Remediation: "Grant Secret access with RoleBindings in the namespaces that need it, limited with resourceNames where possible.",
}, permissionCheck("read-secrets", clusterWideOnly))
