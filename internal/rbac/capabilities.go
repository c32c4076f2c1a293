package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Capability is a class of power over the cluster that permissions add up to.
type Capability string

// The capability classes, from most to least powerful.
const (
	// ClusterAdmin is every verb on every resource in every namespace.
	ClusterAdmin Capability = "cluster-admin"
	// Escalate is gaining more permissions than one has: escalate, bind, impersonate, minting
	// service account tokens, approving certificates, writing admission webhooks.
	Escalate Capability = "escalate"
	// NodeAccess is reaching the nodes: the kubelet API through nodes/proxy, or changing Nodes.
	NodeAccess Capability = "node-access"
	// RunWorkloads is creating pods or the controllers that create them, or running commands in
	// existing pods: either way, code runs with any service account and Secret of the namespace.
	RunWorkloads Capability = "run-workloads"
	// ReadSecrets is reading Secrets.
	ReadSecrets Capability = "read-secrets"
	// ClusterWide is holding permissions, beyond the defaults every identity has, in every
	// namespace at once (through a ClusterRoleBinding).
	ClusterWide Capability = "cluster-wide"
)

// Capabilities lists the classes from most to least powerful.
var Capabilities = []Capability{ClusterAdmin, Escalate, NodeAccess, RunWorkloads, ReadSecrets, ClusterWide}

// Permission is one dangerous kind of permission: the requests that exercise it, and the class
// it belongs to.
type Permission struct {
	ID       string
	Class    Capability
	Summary  string
	Requests []Request
	// AlsoNeeds, when set, are requests of which the holder must also be allowed one (through
	// any binding) for Requests to achieve anything: an admission plugin asks the authorizer for
	// them after it allowed the request itself.
	AlsoNeeds []Request
}

// signerApproval is what the CertificateApproval admission plugin asks before it lets an
// update of certificatesigningrequests/approval through: approve on the CSR's signer, by its
// name or its domain's wildcard (plugin/pkg/admission/certificates, IsAuthorizedForSignerName).
// The signers listed are those whose certificates the API server trusts as identities.
var signerApproval = []Request{
	{Verb: "approve", APIGroup: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client"},
	{Verb: "approve", APIGroup: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client-kubelet"},
	{Verb: "approve", APIGroup: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/*"},
}

func reqs(verbs []string, group string, resources ...string) []Request {
	var out []Request
	for _, r := range resources {
		res, sub, _ := strings.Cut(r, "/")
		for _, v := range verbs {
			out = append(out, Request{Verb: v, APIGroup: group, Resource: res, Subresource: sub})
		}
	}
	return out
}

var write = []string{"create", "update", "patch"}

// Permissions are the dangerous permissions Redoubt looks for, after the CIS Kubernetes
// Benchmark's section 5.1 and the Kubernetes RBAC good-practices guide. A rule limited to
// resourceNames does not count: it reaches only the objects it names.
var Permissions = []Permission{
	{ID: "read-secrets", Class: ReadSecrets, Summary: "read Secrets",
		Requests: reqs([]string{"get", "list", "watch"}, "", "secrets")},
	{ID: "create-workloads", Class: RunWorkloads, Summary: "create pods or workload controllers",
		Requests: slices.Concat(reqs([]string{"create"}, "", "pods", "replicationcontrollers"),
			reqs(write, "apps", "deployments", "daemonsets", "statefulsets", "replicasets"),
			reqs(write, "batch", "jobs", "cronjobs"))},
	{ID: "exec-pods", Class: RunWorkloads, Summary: "exec into, attach to or port-forward to pods",
		Requests: reqs([]string{"create", "get"}, "", "pods/exec", "pods/attach", "pods/portforward")},
	{ID: "escalate-bind-impersonate", Class: Escalate, Summary: "escalate or bind roles, or impersonate",
		Requests: slices.Concat(reqs([]string{"escalate", "bind"}, "rbac.authorization.k8s.io", "roles", "clusterroles"),
			reqs([]string{"impersonate"}, "", "users", "groups", "serviceaccounts"),
			reqs([]string{"impersonate"}, "authentication.k8s.io", "uids", "userextras"))},
	{ID: "serviceaccount-token", Class: Escalate, Summary: "create service account tokens",
		Requests: reqs([]string{"create"}, "", "serviceaccounts/token")},
	{ID: "approve-csr", Class: Escalate, Summary: "approve certificate signing requests",
		Requests: reqs([]string{"update", "patch"}, "certificates.k8s.io", "certificatesigningrequests/approval"), AlsoNeeds: signerApproval},
	{ID: "webhook-config-write", Class: Escalate, Summary: "write admission webhook configurations",
		Requests: reqs(slices.Concat(write, []string{"delete"}), "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "validatingwebhookconfigurations")},
	{ID: "node-proxy", Class: NodeAccess, Summary: "reach kubelets through nodes/proxy",
		Requests: reqs([]string{"get", "create"}, "", "nodes/proxy")},
	{ID: "write-nodes", Class: NodeAccess, Summary: "modify Nodes",
		Requests: reqs([]string{"update", "patch"}, "", "nodes")},
}

// PermissionByID returns the permission with this ID.
func PermissionByID(id string) *Permission {
	for i := range Permissions {
		if Permissions[i].ID == id {
			return &Permissions[i]
		}
	}
	return nil
}

// clusterScoped are the resources among Permissions' requests that have no namespace: a
// RoleBinding cannot grant them, whatever its role says. Escalating a ClusterRole is checked
// without a namespace too; binding one is checked in the binding's namespace.
var clusterScoped = map[string]bool{"nodes": true, "certificatesigningrequests": true, "mutatingwebhookconfigurations": true,
	"validatingwebhookconfigurations": true, "users": true, "groups": true, "uids": true, "userextras": true}

// ClusterScoped reports whether only a ClusterRoleBinding can allow the request.
func ClusterScoped(r Request) bool {
	return clusterScoped[r.Resource] || (r.Resource == "clusterroles" && r.Verb == "escalate")
}

// Allows reports which of the permission's requests a rule allows, in every namespace (a
// ClusterRoleBinding's rule) or in one (a RoleBinding's, which cannot reach cluster-scoped
// resources).
func (p *Permission) Allows(rule *rbacv1.PolicyRule, clusterWide bool) []Request {
	var out []Request
	for _, r := range p.Requests {
		if !clusterWide && ClusterScoped(r) {
			continue
		}
		if RuleAllows(rule, r) {
			out = append(out, r)
		}
	}
	return out
}

// Usable reports whether the user is also allowed what the permission needs beyond its
// Requests (AlsoNeeds), through any binding; permissions that need nothing more are usable.
func (p *Permission) Usable(pol *Policy, u User) bool {
	return len(p.AlsoNeeds) == 0 || len(p.UsableThrough(pol, u)) > 0
}

// UsableThrough returns the requests of AlsoNeeds the user is allowed.
func (p *Permission) UsableThrough(pol *Policy, u User) []Request {
	var out []Request
	for _, r := range p.AlsoNeeds {
		if pol.Authorize(u, r).Allowed {
			out = append(out, r)
		}
	}
	return out
}

// IsClusterAdmin reports whether a rule allows every verb on every resource of every group.
func IsClusterAdmin(rule *rbacv1.PolicyRule) bool {
	return slices.Contains(rule.Verbs, rbacv1.VerbAll) && slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) &&
		slices.Contains(rule.Resources, rbacv1.ResourceAll) && len(rule.ResourceNames) == 0
}

// Reach is one capability class someone holds, and where.
type Reach struct {
	Class Capability
	// Namespaces are where it holds; empty means every namespace.
	Namespaces []string
	Via        []Grant
}

// AllNamespaces reports whether the class holds in every namespace.
func (r Reach) AllNamespaces() bool { return len(r.Namespaces) == 0 }

// String renders the class and its scope: "read-secrets", "run-workloads in shop-api".
func (r Reach) String() string {
	if r.AllNamespaces() || r.Class == ClusterWide || r.Class == ClusterAdmin {
		return string(r.Class)
	}
	return fmt.Sprintf("%s in %s", r.Class, strings.Join(r.Namespaces, ", "))
}

// CapabilitiesOf sums up what a user can do as capability classes, most powerful first. Every
// binding counts, built-in ones included: a controller's service account that can create pods
// can run workloads, whoever granted it.
func (p *Policy) CapabilitiesOf(u User) []Reach {
	byClass := map[Capability]*Reach{}
	scopes := map[Capability]map[string]bool{}
	add := func(c Capability, g Grant) {
		if byClass[c] == nil {
			byClass[c] = &Reach{Class: c}
			scopes[c] = map[string]bool{}
		}
		byClass[c].Via = append(byClass[c].Via, g)
		scopes[c][g.Scope()] = true
	}
	usable := make([]bool, len(Permissions))
	for i := range Permissions {
		usable[i] = Permissions[i].Usable(p, u)
	}
	for _, g := range p.Grants(u) {
		if slices.Contains(u.Groups, MastersGroup) {
			break
		}
		if g.Binding.ClusterWide() && IsClusterAdmin(&g.Rule) {
			add(ClusterAdmin, g)
		}
		for i := range Permissions {
			if usable[i] && len(Permissions[i].Allows(&g.Rule, g.Binding.ClusterWide())) > 0 {
				add(Permissions[i].Class, g)
			}
		}
		if g.Binding.ClusterWide() && !g.Binding.BuiltIn && !g.Binding.Implied && len(g.Rule.Resources) > 0 {
			add(ClusterWide, g)
		}
	}
	if slices.Contains(u.Groups, MastersGroup) {
		byClass[ClusterAdmin] = &Reach{Class: ClusterAdmin}
		scopes[ClusterAdmin] = map[string]bool{"": true}
	}
	var out []Reach
	for _, c := range Capabilities {
		r := byClass[c]
		if r == nil {
			continue
		}
		if !scopes[c][""] {
			for ns := range scopes[c] {
				r.Namespaces = append(r.Namespaces, ns)
			}
			slices.Sort(r.Namespaces)
		}
		slices.SortStableFunc(r.Via, func(a, b Grant) int { return cmp.Compare(a.Binding.String(), b.Binding.String()) })
		out = append(out, *r)
	}
	return out
}
