// Package checks holds the deploy-phase checks: one file per check, each opening with the rule
// it enforces, registered at init. Checks read a snapshot and the policy; they never read files
// or call the API server.
package checks

import (
	"fmt"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// Context is what a check sees.
type Context struct {
	Snapshot *inventory.Snapshot
	Config   *config.Config
	// PSSLevel is the Pod Security Standards level reported: "baseline" or "restricted".
	PSSLevel string
	// PSSVersion is the standard's version, "latest" or a Kubernetes minor such as "v1.37".
	PSSVersion string
}

// Check is one registered deploy-phase rule and the function that applies it.
type Check struct {
	Rule *finding.Rule
	run  func(*Context, *emitter)
}

var registry []*Check

// register adds a check that looks at the whole snapshot.
func register(rule finding.Rule, run func(*Context, *emitter)) *Check {
	c := &Check{Rule: finding.Register(rule), run: run}
	registry = append(registry, c)
	return c
}

// registerWorkload adds a check that looks at one workload at a time.
func registerWorkload(rule finding.Rule, run func(*Context, *inventory.Workload, *emitter)) *Check {
	return register(rule, func(c *Context, e *emitter) {
		for _, w := range c.Snapshot.Workloads {
			run(c, w, e)
		}
	})
}

// All returns every registered check, ordered by ID.
func All() []*Check {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b *Check) int { return strings.Compare(a.Rule.ID, b.Rule.ID) })
	return out
}

// Run applies every check to the snapshot.
func Run(c *Context) []finding.Finding {
	if c.Config == nil {
		c.Config = config.Default()
	}
	if c.PSSLevel == "" {
		c.PSSLevel = c.Config.PSSLevel
	}
	if c.PSSVersion == "" {
		c.PSSVersion = "latest"
	}
	var out []finding.Finding
	for _, chk := range All() {
		e := &emitter{rule: chk.Rule, cluster: c.Snapshot.Source.Cluster}
		chk.run(c, e)
		out = append(out, e.out...)
	}
	return out
}

// emitter turns a check's observations into findings of its rule, naming the resource and the
// line that holds the evidence.
type emitter struct {
	rule    *finding.Rule
	cluster string
	out     []finding.Finding
}

// workload reports a finding about a whole workload.
func (e *emitter) workload(w *inventory.Workload, format string, args ...any) *finding.Finding {
	return e.add(workloadResource(e.cluster, w, ""), originLocation(w.Origin, w.Origin.Line), format, args...)
}

// container reports a finding about one container of a workload.
func (e *emitter) container(w *inventory.Workload, name string, format string, args ...any) *finding.Finding {
	return e.add(workloadResource(e.cluster, w, name), originLocation(w.Origin, w.ContainerLine(name)), format, args...)
}

// containerAt reports a finding about one container of a workload at a line within it (an env
// entry, say); line 0 falls back to the container's line.
func (e *emitter) containerAt(w *inventory.Workload, name string, line int, format string, args ...any) *finding.Finding {
	if line == 0 {
		line = w.ContainerLine(name)
	}
	return e.add(workloadResource(e.cluster, w, name), originLocation(w.Origin, line), format, args...)
}

// object reports a finding about any other object.
func (e *emitter) object(namespace, kind, name string, origin inventory.Origin, format string, args ...any) *finding.Finding {
	res := finding.Resource{Cluster: e.cluster, Namespace: namespace, Kind: kind, Name: name}
	return e.add(res, originLocation(origin, origin.Line), format, args...)
}

// workloadAs reports a finding about a whole workload under another rule than the check's own,
// for a check whose observation is better described by a rule it stands in for.
func (e *emitter) workloadAs(r *finding.Rule, w *inventory.Workload, format string, args ...any) *finding.Finding {
	e.out = append(e.out, r.New(workloadResource(e.cluster, w, ""), originLocation(w.Origin, w.Origin.Line), fmt.Sprintf(format, args...)))
	return &e.out[len(e.out)-1]
}

func (e *emitter) add(res finding.Resource, loc finding.Location, format string, args ...any) *finding.Finding {
	e.out = append(e.out, e.rule.New(res, loc, fmt.Sprintf(format, args...)))
	return &e.out[len(e.out)-1]
}

func workloadResource(cluster string, w *inventory.Workload, container string) finding.Resource {
	return finding.Resource{Cluster: cluster, Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Container: container}
}

func originLocation(o inventory.Origin, line int) finding.Location {
	if o.File != "" {
		return finding.Location{File: o.File, Line: line}
	}
	return finding.Location{UID: o.UID}
}

// quote renders names as "a", "b" for messages.
func quote(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
