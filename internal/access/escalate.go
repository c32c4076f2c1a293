package access

import "redoubt.dev/redoubt/internal/finding"

// rbacEscalateBindImpersonate reports bindings that allow escalate or bind on roles, or
// impersonate on users, groups, service accounts, UIDs or user extras: each is a way to obtain
// permissions one was not given.
var rbacEscalateBindImpersonate = register(finding.Rule{
	ID:          "rbac-escalate-bind-impersonate",
	Title:       "May escalate, bind or impersonate",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.1.8"},
	Description: "A binding allows escalate or bind on Roles/ClusterRoles, or impersonate: its subjects can grant themselves, or act with, permissions they do not hold.",
	Remediation: "Remove escalate, bind and impersonate from roles bound to anyone but cluster administrators.",
}, permissionCheck("escalate-bind-impersonate", anyScope))

// rbacServiceAccountToken reports bindings that allow creating service account tokens
// (serviceaccounts/token): the holder can act as any service account in scope.
var rbacServiceAccountToken = register(finding.Rule{
	ID:          "rbac-serviceaccount-token-create",
	Title:       "May create service account tokens",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.1.13"},
	Description: "A binding allows create on serviceaccounts/token: its subjects can mint a token for any service account in scope and act with its permissions.",
	Remediation: "Remove create on serviceaccounts/token from roles bound to people and workloads.",
}, permissionCheck("serviceaccount-token", anyScope))

// rbacApproveCSR reports bindings that allow approving certificate signing requests: with a
// signer that issues client certificates, the holder can obtain a certificate for any user or
// group, system:masters included. Approving takes two permissions, as the API server checks
// them: update or patch on certificatesigningrequests/approval (the authorizer), and approve on
// signers (certificates.k8s.io) named kubernetes.io/kube-apiserver-client,
// kubernetes.io/kube-apiserver-client-kubelet or kubernetes.io/* (the CertificateApproval
// admission plugin). A binding is reported when it grants the first and one of its subjects
// holds the second through any binding.
var rbacApproveCSR = register(finding.Rule{
	ID:          "rbac-approve-csr",
	Title:       "May approve certificate requests",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.1.11"},
	Description: "A binding allows update on certificatesigningrequests/approval and its subjects may approve for a signer of client certificates (approve on signers): they can approve client certificates for any identity, including system:masters.",
	Remediation: "Leave CSR approval to the controller manager and to cluster administrators.",
}, permissionCheck("approve-csr", anyScope))

// rbacWebhookConfigWrite reports bindings that allow writing admission webhook configurations:
// the holder can intercept (and rewrite) every object created in the cluster, or switch off the
// policy webhooks that guard it.
var rbacWebhookConfigWrite = register(finding.Rule{
	ID:          "rbac-webhook-config-write",
	Title:       "May write admission webhooks",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.1.12"},
	Description: "A binding allows creating, changing or deleting Mutating- or ValidatingWebhookConfigurations: its subjects can see and rewrite every object admitted to the cluster, or remove the policies that guard it.",
	Remediation: "Limit webhook configuration writes to the operators that install webhooks, and to cluster administrators.",
}, permissionCheck("webhook-config-write", anyScope))
