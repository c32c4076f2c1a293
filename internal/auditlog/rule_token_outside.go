package auditlog

import (
	"fmt"
	"net/netip"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Service-account tokens used from outside the cluster.
//
// Forbids a request authenticated as a service account (system:serviceaccount:NS:NAME) from a
// source address outside the cluster's pod and node address ranges (--pod-cidr and --node-cidr;
// the detection is off unless at least one is given: the ranges are never guessed). Every
// address in sourceIPs is judged, the client's and each proxy's. A service account's token
// belongs to pods; used from a laptop or another network it was copied out of a pod or a
// Secret (MITRE ATT&CK T1528 Steal Application Access Token, and T1078 Valid Accounts). Refused
// requests count too: a stolen token probing is still a stolen token. Severity high.
var tokenOutside = finding.Register(finding.Rule{
	ID:       "audit-serviceaccount-token-outside-cluster",
	Title:    "Service-account token used from outside the pod and node networks",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows a request made with a service account's credentials from an address " +
		"outside the cluster's pod and node ranges: the token was taken out of the cluster.",
	Remediation: "Revoke the token: delete the Secret holding it, or the pod it was issued to for a bound token, " +
		"and rotate the service-account signing key if many are affected. Find how it left: who could read the " +
		"Secret or exec into the pod.",
	References: []string{"mitre:T1528", "mitre:T1078"},
})

func init() { register(detectTokenOutside) }

func (a *Analyzer) insideCluster(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range a.opts.PodCIDRs {
		if p.Contains(addr) {
			return true
		}
	}
	for _, p := range a.opts.NodeCIDRs {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func detectTokenOutside(a *Analyzer, e *Event) {
	if len(a.opts.PodCIDRs) == 0 && len(a.opts.NodeCIDRs) == 0 {
		return
	}
	as, by := e.Actor()
	// The credential is the authenticated user's, not the impersonated one's.
	user := e.User.Username
	if !IsServiceAccount(user) {
		return
	}
	var outside []string
	for _, s := range e.SourceIPs {
		addr, err := netip.ParseAddr(s)
		if err != nil || !a.insideCluster(addr) {
			outside = append(outside, s)
		}
	}
	if len(outside) == 0 {
		return
	}
	what := fmt.Sprintf("token of service account %s used from %s, outside the pod and node ranges",
		strings.TrimPrefix(user, "system:serviceaccount:"), strings.Join(outside, ", "))
	if by != "" {
		what += " to impersonate " + as
	}
	parts := strings.SplitN(strings.TrimPrefix(user, "system:serviceaccount:"), ":", 2)
	res := finding.Resource{Kind: "ServiceAccount", Name: parts[0]}
	if len(parts) == 2 {
		res = finding.Resource{Namespace: parts[0], Kind: "ServiceAccount", Name: parts[1]}
	}
	a.report(e, hit{rule: tokenOutside, severity: tokenOutside.Severity, res: res, what: what,
		evidence: map[string]any{"outsideAddresses": outside}, key: strings.Join(outside, ",")})
}
