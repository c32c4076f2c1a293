package auditlog

import (
	"fmt"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Anonymous requests that were allowed.
//
// Forbids a successful request by system:anonymous or any member of system:unauthenticated,
// except the public-information endpoints Kubernetes opens to everyone by default
// (system:public-info-viewer: /healthz, /livez, /readyz, /version and their sub-paths, and
// the service-account issuer discovery documents /.well-known/openid-configuration and
// /openid/v1/jwks). Anything else answered to an unauthenticated client is a binding to
// system:anonymous or system:unauthenticated that lets the whole network in (MITRE ATT&CK for
// Containers T1078.001 Valid Accounts: Default Accounts, and T1190 Exploit Public-Facing
// Application). Severity high; critical for a write.
var anonymousAllowed = finding.Register(finding.Rule{
	ID:       "audit-anonymous-allowed",
	Title:    "Anonymous request allowed",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows a request without credentials (user system:anonymous, group " +
		"system:unauthenticated) that the API server allowed, beyond the health and version endpoints every " +
		"cluster opens. Some binding grants the anonymous user access: anyone who can reach the API server has it.",
	Remediation: "Find the RoleBinding or ClusterRoleBinding naming system:anonymous or system:unauthenticated " +
		"(`redoubt access who-can` lists them) and delete it; set --anonymous-auth=false, or restrict anonymous " +
		"access to the health endpoints with the AuthenticationConfiguration anonymous conditions.",
	References: []string{"mitre:T1078.001", "mitre:T1190"},
})

func init() { register(detectAnonymous) }

// publicPaths are the non-resource URLs the default system:public-info-viewer role opens.
var publicPaths = []string{"/healthz", "/livez", "/readyz", "/version", "/.well-known/openid-configuration", "/openid/v1/jwks"}

func anonymous(e *Event) bool {
	as, _ := e.Actor()
	return as == "system:anonymous" || slices.Contains(e.ActorGroups(), "system:unauthenticated")
}

func detectAnonymous(a *Analyzer, e *Event) {
	if !anonymous(e) || !e.Succeeded() {
		return
	}
	if e.ObjectRef == nil {
		p, _, _ := strings.Cut(e.RequestURI, "?")
		for _, pub := range publicPaths {
			if p == pub || strings.HasPrefix(p, pub+"/") {
				return
			}
		}
	}
	sev := anonymousAllowed.Severity
	if mutating(e.Verb) {
		sev = finding.Critical
	}
	res := objectResource(e)
	if e.ObjectRef == nil {
		p, _, _ := strings.Cut(e.RequestURI, "?")
		res = finding.Resource{Kind: "URL", Name: truncate(p, 200)}
	}
	a.report(e, hit{rule: anonymousAllowed, severity: sev, res: res,
		what: fmt.Sprintf("unauthenticated %s of %s allowed", e.Verb, truncate(objectString(e), 200)), key: e.Verb})
}
