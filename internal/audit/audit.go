// Package audit is the one pipeline every caller runs: a snapshot goes through every analyzer,
// exceptions are applied, and the findings come out sorted. The CLI and the server both call
// Run, so a scan means the same thing everywhere.
package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/access"
	"redoubt.dev/redoubt/internal/checks"
	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/infra"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/netcheck"
	"redoubt.dev/redoubt/internal/rbac"
	"redoubt.dev/redoubt/internal/releases"
	"redoubt.dev/redoubt/internal/risk"
)

// Options control a run.
type Options struct {
	// Config is the policy: exceptions and check settings. Nil means the defaults.
	Config *config.Config
	// PSSLevel overrides the policy's Pod Security level when set.
	PSSLevel string
	// Now is the time exceptions are judged against; zero means the current time.
	Now time.Time
	// Releases is the Kubernetes release calendar version checks use; nil means the embedded one.
	Releases *releases.Calendar

	// network is the network analysis of this run, kept for the risk ranking.
	network *netpol.Analysis
	// policy is the snapshot's RBAC policy, built once for the access checks and the ranking.
	policy *rbac.Policy
}

// Result is the outcome of a run.
type Result struct {
	Snapshot *inventory.Snapshot
	// Findings are sorted by workload, most severe first; suppressed ones are kept and marked.
	Findings []finding.Finding
	// Problems are input errors: what could not be read.
	Problems []inventory.Problem
	// Analyzers names the analyzers that ran, in order.
	Analyzers []string
	// Risk ranks every workload from the findings above (exceptions applied) and the snapshot.
	Risk *risk.Ranking
}

// analyzer is one stage of the pipeline.
type analyzer struct {
	name string
	run  func(ctx context.Context, s *inventory.Snapshot, o *Options) ([]finding.Finding, error)
}

// analyzers is the pipeline, in order. Each phase's package adds its entry here.
var analyzers = []analyzer{
	{"checks", func(_ context.Context, s *inventory.Snapshot, o *Options) ([]finding.Finding, error) {
		c := &checks.Context{Snapshot: s, Config: o.Config, PSSLevel: o.PSSLevel}
		if s.Source.Kind == inventory.SourceCluster {
			c.PSSVersion = checks.PSSVersionFor(s.Source.ServerVersion)
		}
		return checks.Run(c), nil
	}},
	{"infra", func(_ context.Context, s *inventory.Snapshot, o *Options) ([]finding.Finding, error) {
		return infra.Run(&infra.Context{Snapshot: s, Config: o.Config, Calendar: o.Releases, Now: o.Now}), nil
	}},
	{"access", func(_ context.Context, s *inventory.Snapshot, o *Options) ([]finding.Finding, error) {
		return access.RunWith(s, o.Config, o.policy), nil
	}},
	{"network", func(_ context.Context, s *inventory.Snapshot, o *Options) ([]finding.Finding, error) {
		a, fs := netcheck.Analyze(s, o.Config)
		o.network = a
		return fs, nil
	}},
	{"images", func(_ context.Context, s *inventory.Snapshot, _ *Options) ([]finding.Finding, error) {
		return imagescan.Analyze(s), nil
	}},
}

// Run audits a snapshot: every analyzer, then exceptions from the policy file and from
// annotations on the objects themselves.
func Run(ctx context.Context, s *inventory.Snapshot, opts Options) (*Result, error) {
	if opts.Config == nil {
		opts.Config = config.Default()
	}
	if opts.PSSLevel == "" {
		opts.PSSLevel = opts.Config.PSSLevel
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	// The analyses several stages need are built once per snapshot and shared: the network
	// analysis (netcheck, then risk) and the RBAC policy (access, then risk).
	opts.policy = rbac.NewPolicy(s, rbac.Options{})
	r := &Result{Snapshot: s, Problems: slices.Clone(s.Problems)}
	var all []finding.Finding
	for _, a := range analyzers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs, err := a.run(ctx, s, &opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		r.Analyzers = append(r.Analyzers, a.name)
		all = append(all, fs...)
	}
	exceptions := slices.Clone(opts.Config.Exceptions)
	annotated, invalid := annotationExceptions(s)
	// Annotations on the object come first: they are the more specific exception.
	exceptions = append(annotated, exceptions...)
	all = append(all, invalid...)
	all = append(all, unknownChecks(exceptions)...)
	today := finding.Today(opts.Now)
	for _, e := range finding.Suppress(all, exceptions, today) {
		all = append(all, expiredFinding(e, s.Source.Cluster))
	}
	r.Findings = dedupe(all)
	finding.Sort(r.Findings)
	// The one stage after exceptions: the risk ranking reads every analyzer's findings, and the
	// network analysis for how far each workload can be reached.
	r.Risk = risk.RankWithAccess(s, r.Findings, reachFrom(opts.network), access.ForWorkloadsWith(s, opts.policy))
	return r, nil
}

// reachFrom turns the network analysis into the reachability the risk ranking weighs.
func reachFrom(a *netpol.Analysis) risk.ReachFunc {
	if a == nil {
		return nil
	}
	return func(w *inventory.Workload) (bool, bool, []string) {
		r := a.Reach(w)
		var why []string
		if len(r.Addresses) > 0 {
			why = append(why, "the network policies let outside addresses connect: "+r.Addresses.String())
		}
		switch {
		case r.AnyNamespace:
			why = append(why, "the network policies let pods of any namespace connect")
		case len(r.Namespaces) > 0:
			why = append(why, "the network policies let pods of namespaces "+strings.Join(r.Namespaces, ", ")+" connect")
		}
		return len(r.Addresses) > 0, r.AnyNamespace || len(r.Namespaces) > 0, why
	}
}

// dedupe drops findings identical to one already seen.
func dedupe(fs []finding.Finding) []finding.Finding {
	seen := make(map[string]bool, len(fs))
	out := fs[:0]
	for _, f := range fs {
		k := f.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}

// Summary counts a result's findings.
type Summary struct {
	// BySeverity counts unsuppressed findings.
	BySeverity map[string]int `json:"bySeverity"`
	Total      int            `json:"total"`
	Suppressed int            `json:"suppressed"`
	Workloads  int            `json:"workloads"`
	Images     int            `json:"images"`
	Problems   int            `json:"problems"`
}

// Summarize counts the findings of a result.
func (r *Result) Summarize() Summary {
	s := Summary{BySeverity: map[string]int{}, Problems: len(r.Problems)}
	for _, sev := range finding.Severities() {
		s.BySeverity[sev.String()] = 0
	}
	if r.Snapshot != nil {
		s.Workloads = len(r.Snapshot.Workloads)
		s.Images = len(r.Snapshot.Images)
	}
	for _, f := range r.Findings {
		if f.Suppressed != nil {
			s.Suppressed++
			continue
		}
		s.Total++
		s.BySeverity[f.Severity.String()]++
	}
	return s
}

// Fails reports whether any unsuppressed finding is at or above the threshold.
func (r *Result) Fails(threshold finding.Severity) bool {
	return slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return f.Counts(threshold) })
}
