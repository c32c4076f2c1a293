// Package rbac evaluates Kubernetes RBAC the way the API server's RBAC authorizer does: which
// bindings apply to a user, which rules they grant, and whether a rule allows a request. On top
// of that it answers who can do something (WhoCan), what someone can do (Grants), and sums a
// service account's permissions up as capability classes.
//
// The policy is the snapshot's Roles, ClusterRoles and bindings, with aggregated ClusterRoles
// resolved from their label selectors. Manifests rarely define the built-in ClusterRoles they
// bind (cluster-admin, view, system:*), and never the built-in bindings every cluster has, so
// for manifests the policy adds the defaults of Kubernetes v1.37 (defaults.json, dumped from a
// real API server) wherever the snapshot does not define an object of the same name. A live
// cluster's policy is exactly what the cluster holds.
package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"redoubt.dev/redoubt/internal/inventory"
)

// MastersGroup is the group the API server authorizes for everything before RBAC is asked.
const MastersGroup = "system:masters"

// Binding is a RoleBinding or ClusterRoleBinding with the rules of the role it refers to.
type Binding struct {
	// Kind is "RoleBinding" or "ClusterRoleBinding".
	Kind      string
	Namespace string
	Name      string
	RoleRef   rbacv1.RoleRef
	Subjects  []rbacv1.Subject
	// Rules are the referenced role's rules (aggregation resolved); nil when the role does not
	// exist, which grants nothing.
	Rules       []rbacv1.PolicyRule
	RoleMissing bool
	Origin      inventory.Origin
	// BuiltIn is true for a binding that is one of Kubernetes' defaults, unchanged, referring to
	// an unchanged default role. Default reports hide them; the policy still evaluates them.
	BuiltIn bool
	// Implied is true for a default the policy added because the snapshot (manifests) lacks it.
	Implied bool
}

// ClusterWide reports whether the binding grants its rules in every namespace.
func (b *Binding) ClusterWide() bool { return b.Kind == "ClusterRoleBinding" }

// String names the binding: ClusterRoleBinding/name or RoleBinding ns/name.
func (b *Binding) String() string {
	if b.ClusterWide() {
		return "ClusterRoleBinding " + b.Name
	}
	return fmt.Sprintf("RoleBinding %s/%s", b.Namespace, b.Name)
}

// RoleString names the role the binding refers to.
func (b *Binding) RoleString() string {
	if b.RoleRef.Kind == "Role" {
		return fmt.Sprintf("Role %s/%s", b.Namespace, b.RoleRef.Name)
	}
	return "ClusterRole " + b.RoleRef.Name
}

// Role is a Role or ClusterRole with its rules in effect.
type Role struct {
	Kind      string
	Namespace string
	Name      string
	Rules     []rbacv1.PolicyRule
	// Aggregated is true for a ClusterRole whose rules come from an aggregationRule.
	Aggregated bool
	Labels     map[string]string
	Origin     inventory.Origin
	BuiltIn    bool
	Implied    bool
}

// Policy is the RBAC state of one snapshot.
type Policy struct {
	Roles        []*Role
	ClusterRoles []*Role
	Bindings     []*Binding

	clusterRoles map[string]*Role
	roles        map[string]*Role
	// bySubject indexes bindings by the identities their subjects name (subjectKey), so that
	// Grants does not walk every binding for every workload.
	bySubject map[string][]*Binding
}

// subjectKey is how a subject names an identity: "u/NAME", "g/NAME" or "sa/NAMESPACE/NAME" (a
// service account's namespace defaulted as the authorizer does; "" when it names nobody).
func subjectKey(s rbacv1.Subject, b *Binding) string {
	switch s.Kind {
	case rbacv1.UserKind:
		return "u/" + s.Name
	case rbacv1.GroupKind:
		return "g/" + s.Name
	case rbacv1.ServiceAccountKind:
		if ns := subjectNamespace(s, b); ns != "" {
			return "sa/" + ns + "/" + s.Name
		}
	}
	return ""
}

// userKeys are the subject keys that can name a user.
func userKeys(u User) []string {
	keys := make([]string, 0, len(u.Groups)+2)
	if u.Name != "" {
		keys = append(keys, "u/"+u.Name)
	}
	if ns, name, ok := u.serviceAccount(); ok {
		keys = append(keys, "sa/"+ns+"/"+name)
	}
	for _, g := range u.Groups {
		keys = append(keys, "g/"+g)
	}
	return keys
}

// Options change how a policy is built.
type Options struct {
	// NoDefaults leaves out the built-in roles and bindings even for manifests.
	NoDefaults bool
}

// NewPolicy builds the policy of a snapshot.
func NewPolicy(s *inventory.Snapshot, opts Options) *Policy {
	p := &Policy{clusterRoles: map[string]*Role{}, roles: map[string]*Role{}}
	def := defaultPolicy()
	for _, cr := range s.ClusterRoles {
		r := &Role{Kind: "ClusterRole", Name: cr.Name, Rules: cr.Rules, Labels: cr.Labels, Origin: cr.Origin}
		if cr.AggregationRule != nil {
			r.Aggregated = true
		}
		if d := def.clusterRoles[cr.Name]; d != nil {
			r.BuiltIn = sameClusterRole(cr.ClusterRole, d)
		}
		p.clusterRoles[r.Name] = r
		p.ClusterRoles = append(p.ClusterRoles, r)
	}
	for _, ro := range s.Roles {
		r := &Role{Kind: "Role", Namespace: ro.Namespace, Name: ro.Name, Rules: ro.Rules, Labels: ro.Labels, Origin: ro.Origin}
		if d := def.roles[ro.Namespace+"/"+ro.Name]; d != nil {
			r.BuiltIn = slices.EqualFunc(ro.Rules, d.Rules, ruleEqual)
		}
		p.roles[ro.Namespace+"/"+ro.Name] = r
		p.Roles = append(p.Roles, r)
	}
	addDefaults := !opts.NoDefaults && s.Source.Kind != inventory.SourceCluster
	if addDefaults {
		for _, d := range def.ClusterRoles {
			if p.clusterRoles[d.Name] != nil {
				continue
			}
			r := &Role{Kind: "ClusterRole", Name: d.Name, Rules: d.Rules, Labels: d.Labels, Aggregated: d.AggregationRule != nil, BuiltIn: true, Implied: true}
			p.clusterRoles[r.Name] = r
			p.ClusterRoles = append(p.ClusterRoles, r)
		}
		for _, d := range def.Roles {
			if p.roles[d.Namespace+"/"+d.Name] != nil {
				continue
			}
			r := &Role{Kind: "Role", Namespace: d.Namespace, Name: d.Name, Rules: d.Rules, Labels: d.Labels, BuiltIn: true, Implied: true}
			p.roles[d.Namespace+"/"+d.Name] = r
			p.Roles = append(p.Roles, r)
		}
	}
	p.aggregate(s, def, addDefaults)

	seenCRB := map[string]bool{}
	for _, b := range s.ClusterRoleBindings {
		seenCRB[b.Name] = true
		p.Bindings = append(p.Bindings, p.binding("ClusterRoleBinding", "", b.Name, b.RoleRef, b.Subjects, b.Origin, def))
	}
	seenRB := map[string]bool{}
	for _, b := range s.RoleBindings {
		seenRB[b.Namespace+"/"+b.Name] = true
		p.Bindings = append(p.Bindings, p.binding("RoleBinding", b.Namespace, b.Name, b.RoleRef, b.Subjects, b.Origin, def))
	}
	if addDefaults {
		for _, d := range def.ClusterRoleBindings {
			if !seenCRB[d.Name] {
				b := p.binding("ClusterRoleBinding", "", d.Name, d.RoleRef, d.Subjects, inventory.Origin{}, def)
				b.Implied = true
				p.Bindings = append(p.Bindings, b)
			}
		}
		for _, d := range def.RoleBindings {
			if !seenRB[d.Namespace+"/"+d.Name] {
				b := p.binding("RoleBinding", d.Namespace, d.Name, d.RoleRef, d.Subjects, inventory.Origin{}, def)
				b.Implied = true
				p.Bindings = append(p.Bindings, b)
			}
		}
	}
	slices.SortFunc(p.Bindings, func(a, b *Binding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	p.bySubject = map[string][]*Binding{}
	for _, b := range p.Bindings {
		seen := map[string]bool{}
		for _, s := range b.Subjects {
			if k := subjectKey(s, b); k != "" && !seen[k] {
				seen[k] = true
				p.bySubject[k] = append(p.bySubject[k], b)
			}
		}
	}
	slices.SortFunc(p.ClusterRoles, func(a, b *Role) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(p.Roles, func(a, b *Role) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return p
}

// aggregate resolves aggregated ClusterRoles the way the clusterrole-aggregation controller
// does: the role's rules become the union of the rules of every other ClusterRole its selectors
// match, repeated until nothing changes (aggregated roles may feed each other).
func (p *Policy) aggregate(s *inventory.Snapshot, def *defaults, withDefaults bool) {
	selectors := map[string][]labels.Selector{}
	for _, cr := range s.ClusterRoles {
		if cr.AggregationRule == nil {
			continue
		}
		for _, ls := range cr.AggregationRule.ClusterRoleSelectors {
			if sel, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
				selectors[cr.Name] = append(selectors[cr.Name], sel)
			}
		}
	}
	if withDefaults {
		for _, d := range def.ClusterRoles {
			if _, own := selectors[d.Name]; own || d.AggregationRule == nil || p.clusterRoles[d.Name] == nil || !p.clusterRoles[d.Name].Implied {
				continue
			}
			for _, ls := range d.AggregationRule.ClusterRoleSelectors {
				if sel, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
					selectors[d.Name] = append(selectors[d.Name], sel)
				}
			}
		}
	}
	names := make([]string, 0, len(selectors))
	for n := range selectors {
		names = append(names, n)
	}
	slices.Sort(names)
	for range len(names) + 1 {
		changed := false
		for _, name := range names {
			var rules []rbacv1.PolicyRule
			for _, other := range p.ClusterRoles {
				if other.Name == name {
					continue
				}
				if slices.ContainsFunc(selectors[name], func(sel labels.Selector) bool { return sel.Matches(labels.Set(other.Labels)) }) {
					for _, r := range other.Rules {
						if !slices.ContainsFunc(rules, func(x rbacv1.PolicyRule) bool { return ruleEqual(x, r) }) {
							rules = append(rules, r)
						}
					}
				}
			}
			role := p.clusterRoles[name]
			if len(rules) == 0 && !role.Implied {
				continue // a live role whose sources are not visible keeps the rules the controller wrote
			}
			if !slices.EqualFunc(rules, role.Rules, ruleEqual) {
				role.Rules = rules
				changed = true
			}
		}
		if !changed {
			return
		}
	}
}

func (p *Policy) binding(kind, ns, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, origin inventory.Origin, def *defaults) *Binding {
	b := &Binding{Kind: kind, Namespace: ns, Name: name, RoleRef: ref, Subjects: subjects, Origin: origin}
	var role *Role
	switch ref.Kind {
	case "ClusterRole":
		role = p.clusterRoles[ref.Name]
	case "Role":
		if kind == "RoleBinding" {
			role = p.roles[ns+"/"+ref.Name]
		}
	}
	if role == nil {
		b.RoleMissing = true
	} else {
		b.Rules = role.Rules
	}
	if kind == "ClusterRoleBinding" {
		if d := def.clusterRoleBindings[name]; d != nil {
			b.BuiltIn = d.RoleRef == ref && slices.Equal(d.Subjects, subjects) && role != nil && role.BuiltIn
		}
	} else if d := def.roleBindings[ns+"/"+name]; d != nil {
		b.BuiltIn = d.RoleRef == ref && slices.Equal(d.Subjects, subjects) && role != nil && role.BuiltIn
	}
	return b
}

// ClusterRole returns the ClusterRole with this name, defaults included.
func (p *Policy) ClusterRole(name string) *Role { return p.clusterRoles[name] }

// Role returns the Role namespace/name.
func (p *Policy) Role(namespace, name string) *Role { return p.roles[namespace+"/"+name] }

func ruleEqual(a, b rbacv1.PolicyRule) bool {
	return slices.Equal(a.Verbs, b.Verbs) && slices.Equal(a.APIGroups, b.APIGroups) && slices.Equal(a.Resources, b.Resources) &&
		slices.Equal(a.ResourceNames, b.ResourceNames) && slices.Equal(a.NonResourceURLs, b.NonResourceURLs)
}

// sameClusterRole compares a cluster's ClusterRole with the default of the same name. An
// aggregated role is compared by its selectors: its rules depend on what else is installed.
func sameClusterRole(cr *rbacv1.ClusterRole, d *rbacv1.ClusterRole) bool {
	if (cr.AggregationRule == nil) != (d.AggregationRule == nil) {
		return false
	}
	if cr.AggregationRule != nil {
		return slices.EqualFunc(cr.AggregationRule.ClusterRoleSelectors, d.AggregationRule.ClusterRoleSelectors, func(a, b metav1.LabelSelector) bool {
			return metav1.FormatLabelSelector(&a) == metav1.FormatLabelSelector(&b)
		})
	}
	return slices.EqualFunc(cr.Rules, d.Rules, ruleEqual)
}

// SubjectString renders a binding subject: User alice, Group dev, ServiceAccount ns/name.
func SubjectString(s rbacv1.Subject, bindingNamespace string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return fmt.Sprintf("ServiceAccount %s/%s", ns, s.Name)
	}
	return s.Kind + " " + s.Name
}

// subjectNamespace is a ServiceAccount subject's namespace, defaulted as the authorizer does.
func subjectNamespace(s rbacv1.Subject, b *Binding) string {
	if s.Namespace != "" {
		return s.Namespace
	}
	if b.ClusterWide() {
		return ""
	}
	return b.Namespace
}

// lowerKind normalises subject kinds for comparison with user input.
func lowerKind(k string) string { return strings.ToLower(k) }
