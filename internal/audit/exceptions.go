package audit

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// The in-manifest exception: annotations on the object a finding is about.
const (
	AnnotationIgnore        = "redoubt.dev/ignore"
	AnnotationIgnoreReason  = "redoubt.dev/ignore-reason"
	AnnotationIgnoreOwner   = "redoubt.dev/ignore-owner"
	AnnotationIgnoreExpires = "redoubt.dev/ignore-expires"
)

var (
	exceptionExpired = finding.Register(finding.Rule{
		ID:          "exception-expired",
		Title:       "Exception expired",
		Phase:       finding.PhaseDeploy,
		Severity:    finding.Low,
		References:  []string{"redoubt:exceptions"},
		Description: "An exception has passed its expiry date and no longer suppresses anything: the findings it covered count again. The exception itself is reported so that its owner renews it with a new reason or removes it.",
		Remediation: "Fix the findings the exception covered and delete it, or, if the reason still holds, set a new expiry date after review.",
	})
	invalidException = finding.Register(finding.Rule{
		ID:          "invalid-exception",
		Title:       "Exception cannot be applied",
		Phase:       finding.PhaseDeploy,
		Severity:    finding.Medium,
		References:  []string{"redoubt:exceptions"},
		Description: "An exception is malformed (an ignore annotation without a reason, an unreadable expiry date) or names a check that does not exist, so it suppresses nothing.",
		Remediation: "Give the exception a reason (redoubt.dev/ignore-reason), a valid date (YYYY-MM-DD), and check IDs from `redoubt checks`.",
	})
)

// annotationExceptions turns redoubt.dev/ignore annotations on workloads, namespaces and other
// objects into exceptions scoped to exactly that object. Annotations without a reason do not
// apply; each is reported instead.
func annotationExceptions(s *inventory.Snapshot) (exs []finding.Exception, invalid []finding.Finding) {
	add := func(namespace, kind, name string, ann map[string]string, origin inventory.Origin) {
		list, ok := ann[AnnotationIgnore]
		if !ok {
			return
		}
		res := finding.Resource{Cluster: s.Source.Cluster, Namespace: namespace, Kind: kind, Name: name}
		loc := finding.Location{File: origin.File, Line: origin.Line, UID: origin.UID}
		var checks []string
		for _, c := range strings.Split(list, ",") {
			if c = strings.TrimSpace(c); c != "" {
				checks = append(checks, c)
			}
		}
		e := finding.Exception{
			Checks: checks, Resources: []finding.Selector{{Namespace: namespace, Kind: kind, Name: name}},
			Reason: ann[AnnotationIgnoreReason], Owner: ann[AnnotationIgnoreOwner],
			Source: "annotation", File: origin.File, Line: origin.Line,
		}
		if namespace == "" {
			e.Resources[0].Namespace = ""
		}
		if exp := ann[AnnotationIgnoreExpires]; exp != "" {
			t, err := time.Parse(time.DateOnly, exp)
			if err != nil {
				invalid = append(invalid, invalidException.New(res, loc,
					fmt.Sprintf("annotation %s %q is not a date (YYYY-MM-DD); the exception does not apply", AnnotationIgnoreExpires, exp)))
				return
			}
			e.Expires = t
		}
		if err := e.Validate(); err != nil {
			invalid = append(invalid, invalidException.New(res, loc,
				fmt.Sprintf("annotation %s: %v; the exception does not apply (add %s)", AnnotationIgnore, err, AnnotationIgnoreReason)))
			return
		}
		exs = append(exs, e)
	}
	for _, w := range s.Workloads {
		add(w.Namespace, w.Kind, w.Name, w.Annotations, w.Origin)
	}
	for _, n := range s.Namespaces {
		if n.Namespace != nil {
			add(n.Name, "Namespace", n.Name, n.Annotations, n.Origin)
		}
	}
	for _, x := range s.Services {
		add(x.Namespace, "Service", x.Name, x.Annotations, x.Origin)
	}
	for _, x := range s.NetworkPolicies {
		add(x.Namespace, "NetworkPolicy", x.Name, x.Annotations, x.Origin)
	}
	for _, x := range s.ServiceAccounts {
		add(x.Namespace, "ServiceAccount", x.Name, x.Annotations, x.Origin)
	}
	for _, x := range s.Roles {
		add(x.Namespace, "Role", x.Name, x.Annotations, x.Origin)
	}
	for _, x := range s.ClusterRoles {
		add("", "ClusterRole", x.Name, x.Annotations, x.Origin)
	}
	for _, x := range s.RoleBindings {
		add(x.Namespace, "RoleBinding", x.Name, x.Annotations, x.Origin)
	}
	for _, x := range s.ClusterRoleBindings {
		add("", "ClusterRoleBinding", x.Name, x.Annotations, x.Origin)
	}
	return exs, invalid
}

// unknownChecks reports exceptions that name a check ID no analyzer registered: a typo there
// would silently suppress nothing.
func unknownChecks(exs []finding.Exception) []finding.Finding {
	var out []finding.Finding
	for _, e := range exs {
		for _, c := range e.Checks {
			if strings.ContainsAny(c, "*?[") {
				continue
			}
			if _, ok := finding.Lookup(c); ok {
				continue
			}
			res := finding.Resource{Kind: "Exception", Name: e.Where()}
			if e.Source == "annotation" && len(e.Resources) == 1 {
				sel := e.Resources[0]
				res = finding.Resource{Namespace: sel.Namespace, Kind: sel.Kind, Name: sel.Name}
			}
			out = append(out, invalidException.New(res, finding.Location{File: e.File, Line: e.Line},
				fmt.Sprintf("exception names check %q, which does not exist%s", c, suggest(c))))
		}
	}
	return out
}

// suggest names the registered check closest to a misspelt one.
func suggest(id string) string {
	best, bestD := "", 4
	for _, r := range finding.Rules() {
		if d := distance(id, r.ID); d < bestD {
			best, bestD = r.ID, d
		}
	}
	if best == "" {
		return " (see `redoubt checks`)"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between two strings.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = slices.Min([]int{prev[j] + 1, cur[j-1] + 1, prev[j-1] + cost})
		}
		prev = cur
	}
	return prev[len(b)]
}

// expiredFinding reports an exception that no longer applies.
func expiredFinding(e *finding.Exception, cluster string) finding.Finding {
	res := finding.Resource{Cluster: cluster, Kind: "Exception", Name: e.Where()}
	if e.Source == "annotation" && len(e.Resources) == 1 {
		sel := e.Resources[0]
		res = finding.Resource{Cluster: cluster, Namespace: sel.Namespace, Kind: sel.Kind, Name: sel.Name}
	}
	what := strings.Join(slices.Concat(e.Checks, e.Vulnerabilities), ", ")
	if what == "" {
		what = "its resources"
	}
	f := exceptionExpired.New(res, finding.Location{File: e.File, Line: e.Line},
		fmt.Sprintf("exception for %s (owner %q, reason %q) expired on %s and no longer applies",
			what, e.Owner, e.Reason, e.Expires.Format(time.DateOnly)))
	f.Evidence = map[string]any{"expires": e.Expires.Format(time.DateOnly), "owner": e.Owner}
	return f
}
