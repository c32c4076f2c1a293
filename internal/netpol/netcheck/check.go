// Package netcheck holds the network policy checks `redoubt scan` runs: one file per check,
// each opening with the rule it enforces, registered at init. They read the connectivity model
// of package netpol; they never read files or call the API server.
package netcheck

import (
	"fmt"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
)

// Context is what a check sees.
type Context struct {
	Snapshot *inventory.Snapshot
	Analysis *netpol.Analysis
	Config   *config.Config
	// policies caches Analysis.Policies.
	policies []netpol.PolicyInfo
	// namespacesWithPolicies are the namespaces holding at least one NetworkPolicy.
	namespacesWithPolicies map[string]bool
}

// Policies describes every compiled policy.
func (c *Context) Policies() []netpol.PolicyInfo {
	if c.policies == nil {
		c.policies = c.Analysis.Policies()
	}
	return c.policies
}

// HasNetworkPolicies reports whether a namespace holds any NetworkPolicy (valid or not).
func (c *Context) HasNetworkPolicies(ns string) bool {
	if c.namespacesWithPolicies == nil {
		c.namespacesWithPolicies = map[string]bool{}
		for _, p := range c.Snapshot.NetworkPolicies {
			c.namespacesWithPolicies[p.Namespace] = true
		}
	}
	return c.namespacesWithPolicies[ns]
}

type check struct {
	rule *finding.Rule
	run  func(*Context, *emitter)
}

var registry []*check

func register(rule finding.Rule, run func(*Context, *emitter)) *check {
	c := &check{rule: finding.Register(rule), run: run}
	registry = append(registry, c)
	return c
}

// Run analyses the snapshot's network policies and applies every network check.
func Run(s *inventory.Snapshot, cfg *config.Config) []finding.Finding {
	_, fs := Analyze(s, cfg)
	return fs
}

// Analyze runs every network check and also returns the analysis they ran on, for callers that
// ask it further questions (the risk ranking asks how far each workload can be reached).
func Analyze(s *inventory.Snapshot, cfg *config.Config) (*netpol.Analysis, []finding.Finding) {
	if cfg == nil {
		cfg = config.Default()
	}
	a := netpol.Analyze(s, netpol.Options{PodCIDRs: cfg.Network.PodCIDRs, NodeCIDRs: cfg.Network.NodeCIDRs})
	c := &Context{Snapshot: s, Analysis: a, Config: cfg}
	checks := slices.Clone(registry)
	slices.SortFunc(checks, func(x, y *check) int { return strings.Compare(x.rule.ID, y.rule.ID) })
	var out []finding.Finding
	for _, chk := range checks {
		e := &emitter{rule: chk.rule, cluster: s.Source.Cluster}
		chk.run(c, e)
		out = append(out, e.out...)
	}
	return a, out
}

// emitter turns a check's observations into findings of its rule.
type emitter struct {
	rule    *finding.Rule
	cluster string
	out     []finding.Finding
}

func location(o inventory.Origin) finding.Location {
	if o.File != "" {
		return finding.Location{File: o.File, Line: o.Line}
	}
	return finding.Location{UID: o.UID}
}

func (e *emitter) add(res finding.Resource, loc finding.Location, format string, args ...any) *finding.Finding {
	res.Cluster = e.cluster
	e.out = append(e.out, e.rule.New(res, loc, fmt.Sprintf(format, args...)))
	return &e.out[len(e.out)-1]
}

func (e *emitter) workload(w *inventory.Workload, format string, args ...any) *finding.Finding {
	return e.add(finding.Resource{Namespace: w.Namespace, Kind: w.Kind, Name: w.Name}, location(w.Origin), format, args...)
}

func (e *emitter) policy(ref netpol.PolicyRef, format string, args ...any) *finding.Finding {
	return e.add(finding.Resource{Namespace: ref.Namespace, Kind: ref.Kind, Name: ref.Name}, location(ref.Origin), format, args...)
}

// names renders up to max workload names, and how many more there are.
func names(ws []string, max int) string {
	if len(ws) <= max {
		return strings.Join(ws, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ws[:max], ", "), len(ws)-max)
}
