package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"redoubt.dev/redoubt/internal/rbac"
)

type grantJSON struct {
	Binding string `json:"binding"`
	Role    string `json:"role"`
	Rule    string `json:"rule"`
	Scope   string `json:"scope"`
	BuiltIn bool   `json:"builtIn,omitempty"`
	Note    string `json:"wildcards,omitempty"`
}

func toGrantJSON(g rbac.Grant) grantJSON {
	scope := g.Scope()
	if scope == "" {
		scope = "*"
	}
	return grantJSON{Binding: g.Binding.String(), Role: g.Binding.RoleString(), Rule: rbac.RuleString(g.Rule),
		Scope: scope, BuiltIn: g.Binding.BuiltIn || g.Binding.Implied, Note: rbac.WildcardNote(g.Rule)}
}

// WhoCanJSON writes the subjects allowed a request as JSON.
func WhoCanJSON(w io.Writer, req rbac.Request, holders []rbac.Holder) error {
	type holder struct {
		Kind      string      `json:"kind"`
		Name      string      `json:"name"`
		Namespace string      `json:"namespace,omitempty"`
		Masters   bool        `json:"bypassesRBAC,omitempty"`
		Via       []grantJSON `json:"via"`
	}
	out := struct {
		Request  string   `json:"request"`
		Subjects []holder `json:"subjects"`
	}{Request: req.String(), Subjects: []holder{}}
	for _, h := range holders {
		x := holder{Kind: h.Kind, Name: h.Name, Namespace: h.Namespace, Masters: h.Masters, Via: []grantJSON{}}
		for _, g := range h.Via {
			x.Via = append(x.Via, toGrantJSON(g))
		}
		out.Subjects = append(out.Subjects, x)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WhoCanTable writes the subjects allowed a request, one line per binding that allows it.
func WhoCanTable(w io.Writer, req rbac.Request, holders []rbac.Holder) error {
	fmt.Fprintf(w, "Who can %s:\n\n", req)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tVIA")
	for _, h := range holders {
		if h.Masters {
			via := "member of system:masters: allowed before RBAC is asked"
			if len(h.Via) > 0 {
				via += " (also bound)"
			}
			fmt.Fprintf(tw, "%s\t%s\n", h.String(), via)
			continue
		}
		for i, g := range h.Via {
			subj := h.String()
			if i > 0 {
				subj = ""
			}
			via := fmt.Sprintf("%s → %s: %s", g.Binding.String(), g.Binding.RoleString(), rbac.RuleString(g.Rule))
			if g.Binding.BuiltIn || g.Binding.Implied {
				via += " (built-in)"
			}
			fmt.Fprintf(tw, "%s\t%s\n", subj, via)
		}
	}
	return tw.Flush()
}

func reachStrings(reach []rbac.Reach) []string {
	out := []string{}
	for _, r := range reach {
		out = append(out, r.String())
	}
	return out
}

// CanJSON writes what a subject can do as JSON.
func CanJSON(w io.Writer, who string, u rbac.User, reach []rbac.Reach, grants []rbac.Grant) error {
	out := struct {
		Subject      string      `json:"subject"`
		User         string      `json:"user,omitempty"`
		Groups       []string    `json:"groups"`
		Capabilities []string    `json:"capabilities"`
		Grants       []grantJSON `json:"grants"`
	}{Subject: who, User: u.Name, Groups: u.Groups, Capabilities: reachStrings(reach), Grants: []grantJSON{}}
	for _, g := range grants {
		out.Grants = append(out.Grants, toGrantJSON(g))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// CanTable writes what a subject can do, grouped by where it applies, wildcards spelled out.
func CanTable(w io.Writer, who string, u rbac.User, reach []rbac.Reach, grants []rbac.Grant) error {
	fmt.Fprintf(w, "%s", who)
	if u.Name != "" && !strings.HasSuffix(who, " "+u.Name) {
		fmt.Fprintf(w, " (user %s)", u.Name)
	}
	fmt.Fprintf(w, ", groups: %s\n", strings.Join(u.Groups, ", "))
	caps := strings.Join(reachStrings(reach), ", ")
	if caps == "" {
		caps = "none"
	}
	fmt.Fprintf(w, "capabilities: %s\n", caps)
	byScope := map[string][]rbac.Grant{}
	var scopes []string
	for _, g := range grants {
		s := g.Scope()
		if _, ok := byScope[s]; !ok {
			scopes = append(scopes, s)
		}
		byScope[s] = append(byScope[s], g)
	}
	if len(grants) == 0 {
		fmt.Fprintln(w, "\nno rule reaches this subject")
		return nil
	}
	for _, s := range sortScopes(scopes) {
		title := "in every namespace (and cluster-scoped)"
		if s != "" {
			title = "in namespace " + s
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, g := range byScope[s] {
			via := fmt.Sprintf("%s → %s", g.Binding.String(), g.Binding.RoleString())
			if g.Binding.BuiltIn || g.Binding.Implied {
				via += " (built-in)"
			}
			fmt.Fprintf(w, "  %s\n      via %s\n", rbac.RuleString(g.Rule), via)
			if note := rbac.WildcardNote(g.Rule); note != "" {
				fmt.Fprintf(w, "      (%s)\n", note)
			}
		}
	}
	return nil
}

// sortScopes puts every-namespace first, then namespaces by name.
func sortScopes(s []string) []string {
	out := make([]string, 0, len(s))
	for _, x := range s {
		if x == "" {
			out = append(out, x)
		}
	}
	rest := []string{}
	for _, x := range s {
		if x != "" {
			rest = append(rest, x)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
