package auditlog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// rbacWrite reports whether the request successfully wrote an RBAC object of this resource.
func rbacWrite(e *Event, resource string) bool {
	return e.IsResource("rbac.authorization.k8s.io", resource) && e.ObjectRef.Subresource == "" &&
		(e.Verb == "create" || e.Verb == "update" || e.Verb == "patch") && e.Succeeded()
}

// roleKey names a role for the escalating-role memory: ClusterRole/NAME or Role/NS/NAME.
func roleKey(kind, namespace, name string) string {
	if kind == "ClusterRole" {
		return "ClusterRole/" + name
	}
	return "Role/" + namespace + "/" + name
}

// dangerousRules lists what in a role's rules lets its holders escalate: the escalate, bind and
// impersonate verbs, and wildcards in verbs, resources or API groups.
func dangerousRules(rules []rbacv1.PolicyRule) (escalating, wildcards []string) {
	for _, r := range rules {
		for _, v := range r.Verbs {
			switch v {
			case "escalate", "bind", "impersonate":
				escalating = append(escalating, fmt.Sprintf("%s on %s", v, strings.Join(r.Resources, ",")))
			case "*":
				wildcards = append(wildcards, "verbs *")
			}
		}
		if slices.Contains(r.Resources, "*") {
			wildcards = append(wildcards, "resources *")
		}
		if slices.Contains(r.APIGroups, "*") {
			wildcards = append(wildcards, "apiGroups *")
		}
		if slices.Contains(r.NonResourceURLs, "*") {
			wildcards = append(wildcards, "nonResourceURLs *")
		}
	}
	return dedupe(escalating), dedupe(wildcards)
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// roleBody decodes a Role or ClusterRole from a request body; nil when absent or not an object.
func roleBody(body json.RawMessage) *rbacv1.ClusterRole {
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	var r rbacv1.ClusterRole
	if json.Unmarshal(body, &r) != nil {
		return nil
	}
	return &r
}

// bindingBody decodes a RoleBinding or ClusterRoleBinding from a request body.
func bindingBody(body json.RawMessage) *rbacv1.ClusterRoleBinding {
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	var b rbacv1.ClusterRoleBinding
	if json.Unmarshal(body, &b) != nil || b.RoleRef.Name == "" {
		return nil
	}
	return &b
}

// subjectNames renders a binding's subjects as Kind:namespace/name.
func subjectNames(subjects []rbacv1.Subject) []string {
	out := make([]string, 0, len(subjects))
	for _, s := range subjects {
		n := s.Name
		if s.Namespace != "" {
			n = s.Namespace + "/" + n
		}
		out = append(out, s.Kind+":"+n)
	}
	return out
}

func init() { register(rememberRoles) }

// rememberRoles records roles written with escalating rules, so that a later binding to them
// is reported by audit-rbac-escalating-binding. It reports nothing itself.
func rememberRoles(a *Analyzer, e *Event) {
	kind := ""
	switch {
	case rbacWrite(e, "clusterroles"):
		kind = "ClusterRole"
	case rbacWrite(e, "roles"):
		kind = "Role"
	default:
		return
	}
	r := roleBody(e.Body())
	if r == nil {
		return
	}
	name := e.ObjectRef.Name
	if name == "" {
		name = r.Name
	}
	esc, wild := dangerousRules(r.Rules)
	key := roleKey(kind, e.ObjectRef.Namespace, name)
	if len(esc) == 0 && !slices.Contains(wild, "verbs *") {
		// A role rewritten without them is no longer dangerous.
		if _, ok := a.escalatingRole.get(key); ok {
			a.escalatingRole.put(key, "")
		}
		return
	}
	why := strings.Join(append(esc, wild...), "; ")
	a.escalatingRole.put(key, why)
}
