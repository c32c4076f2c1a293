package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// User is an identity as the API server sees it after authentication.
type User struct {
	Name   string
	Groups []string
}

// ServiceAccountUser is the identity a service account's token authenticates as.
func ServiceAccountUser(namespace, name string) User {
	return User{Name: "system:serviceaccount:" + namespace + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}}
}

// serviceAccount splits a service account user name into namespace and name.
func (u User) serviceAccount() (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(u.Name, "system:serviceaccount:")
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != ""
}

// Request is what a user asks to do: a verb on a resource (with its API group, subresource,
// object name and namespace) or on a non-resource URL (Path).
type Request struct {
	Verb        string
	APIGroup    string
	Resource    string
	Subresource string
	Name        string
	// Namespace is the request's namespace; empty for cluster-scoped resources and for requests
	// across all namespaces, which only ClusterRoleBindings can allow.
	Namespace string
	// Path is set for a non-resource request (/healthz, /metrics, ...).
	Path string
}

// String renders the request as kubectl would phrase it.
func (r Request) String() string {
	if r.Path != "" {
		return r.Verb + " " + r.Path
	}
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	if r.APIGroup != "" {
		res += "." + r.APIGroup
	}
	if r.Name != "" {
		res += " " + r.Name
	}
	where := "in all namespaces"
	if r.Namespace != "" {
		where = "in namespace " + r.Namespace
	}
	return fmt.Sprintf("%s %s %s", r.Verb, res, where)
}

// RuleAllows reports whether a rule allows a request, as the RBAC authorizer's RuleAllows does
// (k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go): "*" matches any verb, group or
// resource (subresources included); "*/sub" matches that subresource of any resource; a rule
// with resourceNames matches only requests naming one of them; a non-resource URL ending in "*"
// matches by prefix.
func RuleAllows(rule *rbacv1.PolicyRule, r Request) bool {
	if !verbMatches(rule, r.Verb) {
		return false
	}
	if r.Path != "" {
		for _, u := range rule.NonResourceURLs {
			if u == rbacv1.NonResourceAll || u == r.Path || (strings.HasSuffix(u, "*") && strings.HasPrefix(r.Path, strings.TrimRight(u, "*"))) {
				return true
			}
		}
		return false
	}
	return groupMatches(rule, r.APIGroup) && resourceMatches(rule, r.Resource, r.Subresource) && nameMatches(rule, r.Name)
}

func verbMatches(rule *rbacv1.PolicyRule, verb string) bool {
	return slices.ContainsFunc(rule.Verbs, func(v string) bool { return v == rbacv1.VerbAll || v == verb })
}

func groupMatches(rule *rbacv1.PolicyRule, group string) bool {
	return slices.ContainsFunc(rule.APIGroups, func(g string) bool { return g == rbacv1.APIGroupAll || g == group })
}

func resourceMatches(rule *rbacv1.PolicyRule, resource, subresource string) bool {
	combined := resource
	if subresource != "" {
		combined += "/" + subresource
	}
	for _, rr := range rule.Resources {
		if rr == rbacv1.ResourceAll || rr == combined {
			return true
		}
		if subresource != "" && len(rr) == len(subresource)+2 && strings.HasPrefix(rr, "*/") && strings.HasSuffix(rr, subresource) {
			return true
		}
	}
	return false
}

func nameMatches(rule *rbacv1.PolicyRule, name string) bool {
	return len(rule.ResourceNames) == 0 || slices.Contains(rule.ResourceNames, name)
}

// appliesTo reports whether a binding subject names the user, as the authorizer's
// appliesToUser does: a ServiceAccount subject without a namespace means the binding's own
// namespace, and in a ClusterRoleBinding names nobody.
func appliesTo(u User, s rbacv1.Subject, b *Binding) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return u.Name == s.Name
	case rbacv1.GroupKind:
		return slices.Contains(u.Groups, s.Name)
	case rbacv1.ServiceAccountKind:
		ns := subjectNamespace(s, b)
		return ns != "" && u.Name == "system:serviceaccount:"+ns+":"+s.Name
	}
	return false
}

// SubjectUser is the identity a binding's subject stands for, as far as bindings can tell: a
// user by name, a service account with its groups, a group as a member with no other group.
func SubjectUser(s rbacv1.Subject, b *Binding) User {
	switch s.Kind {
	case rbacv1.GroupKind:
		return User{Groups: []string{s.Name}}
	case rbacv1.ServiceAccountKind:
		return ServiceAccountUser(subjectNamespace(s, b), s.Name)
	}
	return User{Name: s.Name}
}

// applicable reports whether a binding can allow a request in the given namespace: a
// ClusterRoleBinding anywhere, a RoleBinding only for namespaced requests in its namespace.
func applicable(b *Binding, namespace string, nonResource bool) bool {
	if b.ClusterWide() {
		return true
	}
	return !nonResource && namespace != "" && b.Namespace == namespace
}

// Grant is a rule that reaches a user through a binding.
type Grant struct {
	Binding *Binding
	// Subject is the binding's subject that names the user.
	Subject rbacv1.Subject
	Rule    rbacv1.PolicyRule
}

// Decision is the policy's answer to one request.
type Decision struct {
	Allowed bool
	// Masters is true when the user is in system:masters, which the API server allows before
	// asking RBAC.
	Masters bool
	// Because lists every grant that allows the request.
	Because []Grant
}

// Authorize decides a request the way the API server's authorizer chain does for RBAC:
// system:masters first, then every applicable binding. (The Node authorizer, which answers for
// kubelets' own system:node:NAME users, is not modelled.)
func (p *Policy) Authorize(u User, r Request) Decision {
	var d Decision
	if slices.Contains(u.Groups, MastersGroup) {
		d.Allowed, d.Masters = true, true
	}
	for _, b := range p.Bindings {
		if !applicable(b, r.Namespace, r.Path != "") {
			continue
		}
		for _, s := range b.Subjects {
			if !appliesTo(u, s, b) {
				continue
			}
			for i := range b.Rules {
				if RuleAllows(&b.Rules[i], r) {
					d.Allowed = true
					d.Because = append(d.Because, Grant{Binding: b, Subject: s, Rule: b.Rules[i]})
				}
			}
			break
		}
	}
	return d
}

// Holder is a subject that can do what was asked, and how.
type Holder struct {
	// Kind is User, Group or ServiceAccount; Namespace is set for service accounts.
	Kind, Name, Namespace string
	// Masters is true for the system:masters group, which RBAC does not govern.
	Masters bool
	Via     []Grant
}

// String renders the holder: "ServiceAccount monitoring/log-shipper".
func (h Holder) String() string {
	if h.Kind == rbacv1.ServiceAccountKind {
		return fmt.Sprintf("ServiceAccount %s/%s", h.Namespace, h.Name)
	}
	return h.Kind + " " + h.Name
}

// WhoCan lists every subject named in a binding that allows the request, and system:masters.
// A user is allowed exactly when it is, or is in a group, or is the service account, of one of
// the holders (Authorize and WhoCan read the same bindings).
func (p *Policy) WhoCan(r Request) []Holder {
	byKey := map[string]*Holder{}
	masters := &Holder{Kind: rbacv1.GroupKind, Name: MastersGroup, Masters: true}
	byKey["Group/"+MastersGroup] = masters
	for _, b := range p.Bindings {
		if !applicable(b, r.Namespace, r.Path != "") {
			continue
		}
		for i := range b.Rules {
			if !RuleAllows(&b.Rules[i], r) {
				continue
			}
			for _, s := range b.Subjects {
				h := Holder{Kind: s.Kind, Name: s.Name}
				if s.Kind == rbacv1.ServiceAccountKind {
					h.Namespace = subjectNamespace(s, b)
					if h.Namespace == "" {
						continue // names nobody
					}
				}
				if h.Kind != rbacv1.UserKind && h.Kind != rbacv1.GroupKind && h.Kind != rbacv1.ServiceAccountKind {
					continue
				}
				key := h.Kind + "/" + h.Namespace + "/" + h.Name
				if h.Kind == rbacv1.GroupKind && h.Name == MastersGroup {
					key = "Group/" + MastersGroup
				}
				if byKey[key] == nil {
					byKey[key] = &h
				}
				byKey[key].Via = append(byKey[key].Via, Grant{Binding: b, Subject: s, Rule: b.Rules[i]})
			}
		}
	}
	out := make([]Holder, 0, len(byKey))
	for _, h := range byKey {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Holder) int {
		return cmp.Or(cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

func kindOrder(k string) int {
	switch k {
	case rbacv1.GroupKind:
		return 0
	case rbacv1.UserKind:
		return 1
	}
	return 2
}

// Covers reports whether the user is one of the holders.
func Covers(holders []Holder, u User) bool {
	for _, h := range holders {
		switch h.Kind {
		case rbacv1.UserKind:
			if u.Name == h.Name {
				return true
			}
		case rbacv1.GroupKind:
			if slices.Contains(u.Groups, h.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			if u.Name == "system:serviceaccount:"+h.Namespace+":"+h.Name {
				return true
			}
		}
	}
	return false
}

// Grants lists every rule that reaches the user, through every binding whose subjects name it,
// in the policy's binding order.
func (p *Policy) Grants(u User) []Grant {
	var candidates []*Binding
	for _, k := range userKeys(u) {
		candidates = append(candidates, p.bySubject[k]...)
	}
	slices.SortFunc(candidates, func(a, b *Binding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	candidates = slices.Compact(candidates)
	var out []Grant
	for _, b := range candidates {
		for _, s := range b.Subjects {
			if !appliesTo(u, s, b) {
				continue
			}
			for _, r := range b.Rules {
				out = append(out, Grant{Binding: b, Subject: s, Rule: r})
			}
			break
		}
	}
	return out
}

// Scope is where a grant applies: "" for every namespace (and cluster-scoped resources), or a
// namespace.
func (g Grant) Scope() string {
	if g.Binding.ClusterWide() {
		return ""
	}
	return g.Binding.Namespace
}

// RuleString renders a rule compactly: "get,list secrets" or "* */* (every verb on every
// resource in every API group)".
func RuleString(r rbacv1.PolicyRule) string {
	verbs := strings.Join(r.Verbs, ",")
	if len(r.NonResourceURLs) > 0 {
		return verbs + " " + strings.Join(r.NonResourceURLs, ",")
	}
	var res []string
	for _, g := range r.APIGroups {
		for _, x := range r.Resources {
			switch g {
			case "":
				res = append(res, x)
			default:
				res = append(res, x+"."+g)
			}
		}
	}
	s := verbs + " " + strings.Join(res, ",")
	if len(r.ResourceNames) > 0 {
		s += " named " + strings.Join(r.ResourceNames, ",")
	}
	return s
}
