package access

import "redoubt.dev/redoubt/internal/finding"

// rbacReadSecretsNamespace reports RoleBindings that let their subjects get, list or watch
// Secrets in the binding's namespace. The CIS Kubernetes Benchmark (5.1.2) asks that access to
// Secrets be minimized everywhere, not only cluster-wide: whoever holds it has every credential
// of the namespace, the tokens of its service accounts included. Rules limited to resourceNames
// reach only the Secrets they name and are not reported; grants in every namespace are
// rbac-read-secrets-cluster-wide.
var rbacReadSecretsNamespace = register(finding.Rule{
	ID:          "rbac-read-secrets-namespace",
	Title:       "Secrets readable in a namespace",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.1.2"},
	Description: "A RoleBinding lets its subjects get, list or watch every Secret of its namespace: every credential kept there, including the tokens of the namespace's service accounts.",
	Remediation: "Limit the rule to the Secrets the subject needs with resourceNames, or mount the Secret into the workload instead of reading it through the API.",
}, permissionCheck("read-secrets", namespacedOnly))
