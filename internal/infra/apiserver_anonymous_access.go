package infra

import (
	"fmt"
	"net/http"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// apiserverAnonymousAccess reports what a client without credentials gets from the API server,
// asked directly (the probe of a live cluster: GET /api, /version and /healthz with no
// credentials). With anonymous authentication off every path answers 401; with it on, /api
// answers 403 (authenticated as system:anonymous, then denied) or 200, and /version and /healthz
// 200. Unlike apiserver-anonymous-auth it needs no access to the flags, so it also speaks for
// managed control planes. Anonymous access limited to the health endpoints (an
// AuthenticationConfiguration with anonymous.conditions) is not reported.
var apiserverAnonymousAccess = registerCluster(finding.Rule{
	ID:          "apiserver-anonymous-access",
	Title:       "API server serves anonymous requests",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.1"},
	Description: "A request without credentials to the API server's /api was authenticated as system:anonymous (the server answered something other than 401 Unauthorized). Whatever RBAC grants system:anonymous or system:unauthenticated is open to anyone who reaches the server.",
	Remediation: "Turn anonymous authentication off (--anonymous-auth=false), or limit it to /healthz, /livez and /readyz with an AuthenticationConfiguration; on a managed service use the provider's setting.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	p := c.Snapshot.AnonymousProbe
	if p == nil {
		return nil
	}
	statuses := map[string]int{}
	var answered []string
	apiOpen := false
	for _, r := range p.Results {
		if r.Error != "" {
			continue
		}
		statuses[r.Path] = r.Status
		answered = append(answered, fmt.Sprintf("%s %d", r.Path, r.Status))
		if r.Path == "/api" && r.Status != http.StatusUnauthorized {
			apiOpen = true
		}
	}
	if !apiOpen {
		return nil
	}
	res := finding.Resource{Cluster: c.Snapshot.Source.Cluster, Name: "kube-apiserver"}
	f := rule.New(res, finding.Location{}, fmt.Sprintf("%s answered requests without credentials: %s (401 everywhere would mean anonymous authentication is off)",
		p.Server, strings.Join(answered, ", ")))
	f.Evidence = map[string]any{"server": p.Server, "statuses": statuses}
	return []finding.Finding{f}
})
