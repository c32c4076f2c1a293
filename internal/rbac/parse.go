package rbac

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// ParseSubject reads a subject as people write it: "user:alice", "group:dev",
// "sa:NAMESPACE/NAME", "serviceaccount:NAMESPACE:NAME" or the service account's user name
// "system:serviceaccount:NAMESPACE:NAME". NAMESPACE/NAME with no kind is a service account, as
// netpol names workloads (a user whose name holds a slash is user:NAME); any other bare name is a
// user. Users get the groups they are
// given plus system:authenticated, as the API server adds it to every authenticated user; a
// service account gets its three groups.
func ParseSubject(s string, groups []string) (User, rbacv1.Subject, error) {
	if !strings.Contains(s, ":") && strings.Count(s, "/") == 1 {
		s = "sa:" + s
	}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || strings.HasPrefix(s, "system:") && !strings.HasPrefix(s, "system:serviceaccount:") {
		kind, rest = "user", s
	}
	switch strings.ToLower(kind) {
	case "user", "u":
		if rest == "" {
			return User{}, rbacv1.Subject{}, fmt.Errorf("subject %q: no user name", s)
		}
		g := slices.Clone(groups)
		if rest != "system:anonymous" && !slices.Contains(g, "system:authenticated") {
			g = append(g, "system:authenticated")
		}
		if rest == "system:anonymous" && !slices.Contains(g, "system:unauthenticated") {
			g = append(g, "system:unauthenticated")
		}
		return User{Name: rest, Groups: g}, rbacv1.Subject{Kind: rbacv1.UserKind, Name: rest}, nil
	case "group", "g":
		if rest == "" {
			return User{}, rbacv1.Subject{}, fmt.Errorf("subject %q: no group name", s)
		}
		// A group is asked about as a member with no other group and no name of its own.
		return User{Name: "", Groups: []string{rest}}, rbacv1.Subject{Kind: rbacv1.GroupKind, Name: rest}, nil
	case "sa", "serviceaccount", "system":
		if strings.EqualFold(kind, "system") {
			rest = strings.TrimPrefix(rest, "serviceaccount:")
		}
		ns, name, ok := strings.Cut(rest, "/")
		if !ok {
			ns, name, ok = strings.Cut(rest, ":")
		}
		if !ok || ns == "" || name == "" {
			return User{}, rbacv1.Subject{}, fmt.Errorf("subject %q: want sa:NAMESPACE/NAME", s)
		}
		return ServiceAccountUser(ns, name), rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, nil
	}
	return User{}, rbacv1.Subject{}, fmt.Errorf("subject %q: want user:NAME, group:NAME or sa:NAMESPACE/NAME", s)
}

// ParseRequest reads a request as kubectl auth can-i spells it: a verb, and a resource
// ("pods", "deployments.apps", "pods/exec", "certificatesigningrequests.certificates.k8s.io/approval")
// or a non-resource URL ("/healthz"); subresource, if given, overrides the one in the resource.
func ParseRequest(verb, resource, subresource, name, namespace string) (Request, error) {
	if verb == "" {
		return Request{}, fmt.Errorf("no verb")
	}
	if strings.HasPrefix(resource, "/") {
		return Request{Verb: verb, Path: resource}, nil
	}
	res, sub, _ := strings.Cut(resource, "/")
	if subresource != "" {
		sub = subresource
	}
	res, group, _ := strings.Cut(res, ".")
	if res == "" {
		return Request{}, fmt.Errorf("resource %q: no resource name", resource)
	}
	return Request{Verb: verb, Resource: res, APIGroup: group, Subresource: sub, Name: name, Namespace: namespace}, nil
}

// WildcardNote says what a rule's wildcards include, so nobody reads "*" as a short list.
func WildcardNote(r rbacv1.PolicyRule) string {
	var notes []string
	if slices.Contains(r.Verbs, rbacv1.VerbAll) {
		notes = append(notes, "every verb, escalate, bind and impersonate included")
	}
	if slices.Contains(r.Resources, rbacv1.ResourceAll) {
		notes = append(notes, "every resource, Secrets and subresources like pods/exec included")
	} else if slices.ContainsFunc(r.Resources, func(s string) bool { return strings.HasPrefix(s, "*/") }) {
		notes = append(notes, "that subresource of every resource")
	}
	if slices.Contains(r.APIGroups, rbacv1.APIGroupAll) {
		notes = append(notes, "in every API group, those CRDs add later included")
	}
	if slices.Contains(r.NonResourceURLs, rbacv1.NonResourceAll) {
		notes = append(notes, "every non-resource URL")
	}
	return strings.Join(notes, "; ")
}
