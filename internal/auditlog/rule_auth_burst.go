package auditlog

import (
	"fmt"
	"time"

	"redoubt.dev/redoubt/internal/finding"
)

// Bursts of authentication and authorization failures from one source address.
//
// Forbids BurstThreshold or more responses 401 (Unauthorized: a bad or expired credential) or
// 403 (Forbidden: a valid credential without the permission) to one source address within
// BurstWindow (--burst-threshold, default 20; --burst-window, default one minute). The source
// is the first address of sourceIPs (the client, as X-Forwarded-For reports it, or the direct
// peer). A burst is someone guessing tokens, replaying a revoked one, or probing what a stolen
// credential may do (MITRE ATT&CK for Containers T1110 Brute Force, and T1613 Container and
// Resource Discovery for the 403 probing). One finding per address and burst; the addresses
// tracked are capped (--max-subjects).
var authBurst = finding.Register(finding.Rule{
	ID:       "audit-auth-failure-burst",
	Title:    "Burst of 401/403 responses from one address",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Medium,
	Description: "The audit log shows many requests from one source address refused for bad credentials (401) " +
		"or missing permissions (403) within a short window: token guessing, a revoked credential still in " +
		"use, or a stolen credential probing what it may do.",
	Remediation: "Find the client at the address (the user agent and users are in the evidence); block it or " +
		"fix its credentials. Repeated 403s for one user name a credential worth revoking.",
	References: []string{"mitre:T1110", "mitre:T1613"},
})

func init() { register(detectAuthBurst) }

// burst tracks one address's recent failures: a ring of their times.
type burst struct {
	times    []time.Time
	next     int
	reported time.Time // end of the last reported burst: failures before it are not counted again
	users    map[string]int
	codes    map[int]int
}

func detectAuthBurst(a *Analyzer, e *Event) {
	c := e.Code()
	if (c != 401 && c != 403) || len(e.SourceIPs) == 0 {
		return
	}
	ip := e.SourceIPs[0]
	t := e.Time()
	b, ok := a.failures.get(ip)
	if !ok {
		b = &burst{times: make([]time.Time, 0, a.opts.BurstThreshold), users: map[string]int{}, codes: map[int]int{}}
		a.failures.put(ip, b)
	}
	if len(b.times) < a.opts.BurstThreshold {
		b.times = append(b.times, t)
	} else {
		b.times[b.next] = t
	}
	b.next = (b.next + 1) % a.opts.BurstThreshold
	as, _ := e.Actor()
	if len(b.users) < 20 {
		b.users[as]++
	}
	b.codes[c]++
	if len(b.times) < a.opts.BurstThreshold {
		return
	}
	oldest := b.times[b.next] // the ring is full: next is the oldest
	if t.Sub(oldest) > a.opts.BurstWindow || !oldest.After(b.reported) {
		return
	}
	users := make([]string, 0, len(b.users))
	for u := range b.users {
		if u == "" {
			u = "(no user: bad credential)"
		}
		users = append(users, u)
	}
	a.report(e, hit{rule: authBurst, severity: authBurst.Severity,
		res: finding.Resource{Kind: "SourceIP", Name: ip},
		what: fmt.Sprintf("%d requests refused with 401/403 from %s within %s (401: %d, 403: %d)",
			a.opts.BurstThreshold, ip, t.Sub(oldest).Round(time.Millisecond), b.codes[401], b.codes[403]),
		evidence: map[string]any{"failures": a.opts.BurstThreshold, "window": t.Sub(oldest).String(),
			"unauthorized": b.codes[401], "forbidden": b.codes[403], "users": users},
		key: ip})
	// Start the next burst afresh.
	b.reported = t
	b.users = map[string]int{}
	b.codes = map[int]int{}
}
