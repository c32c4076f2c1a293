package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// maxParamBytes bounds one query parameter value: filters are names, not documents.
const maxParamBytes = 1024

// params reads a request's query parameters, refusing names the endpoint does not know and
// values given twice where one is expected, so a misspelt filter is a 400 rather than a list
// that silently matches everything.
type params struct {
	values url.Values
}

func readParams(u *url.URL, known ...string) (*params, error) {
	values, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, badRequest("the query string is malformed: %v", err)
	}
	for name, vs := range values {
		if !slices.Contains(known, name) {
			if len(known) == 0 {
				return nil, badRequest("unknown parameter %q: this endpoint takes none", name)
			}
			return nil, badRequest("unknown parameter %q (this endpoint takes %s)", name, strings.Join(known, ", "))
		}
		for _, v := range vs {
			if len(v) > maxParamBytes {
				return nil, badRequest("parameter %q: longer than %d bytes", name, maxParamBytes)
			}
		}
	}
	return &params{values: values}, nil
}

// one returns the single value of a parameter ("" when absent).
func (p *params) one(name string) (string, error) {
	vs := p.values[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", badRequest("parameter %q: given %d times, want one value", name, len(vs))
}

// list returns a parameter's values, repeated or comma-separated, without empty ones.
func (p *params) list(name string) []string {
	var out []string
	for _, v := range p.values[name] {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// page reads limit and cursor.
func (p *params) page() (limit int, cursor string, err error) {
	limit = DefaultPageSize
	if v, err := p.one("limit"); err != nil {
		return 0, "", err
	} else if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return 0, "", badRequest("parameter \"limit\": %q: want a whole number from 1 to %d", v, MaxPageSize)
		}
		limit = n
	}
	cursor, err = p.one("cursor")
	return limit, cursor, err
}

// namespace reads ?namespace=, which must be a namespace name.
func (p *params) namespace() (string, error) {
	ns, err := p.one("namespace")
	if err != nil || ns == "" {
		return ns, err
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", badRequest("parameter \"namespace\": %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
	}
	return ns, nil
}

// scope reads ?scope=: cluster, image:<digest>, or runtime[:...] (the scopes of event-like
// findings).
func (p *params) scope() (store.Scope, error) {
	s, err := p.one("scope")
	if err != nil || s == "" {
		return "", err
	}
	if d, ok := strings.CutPrefix(s, "image:"); (ok && digestPattern.MatchString(d)) || s == string(store.ScopeCluster) ||
		s == "runtime" || strings.HasPrefix(s, "runtime:") {
		return store.Scope(s), nil
	}
	return "", badRequest("parameter \"scope\": unknown scope %q (want cluster, image:sha256:<digest>, runtime or runtime:<source>)", s)
}

// States a finding can be asked for by.
var findingStates = []string{string(store.StateOpen), string(store.StateResolved), "suppressed"}

var phases = []finding.Phase{finding.PhaseInfra, finding.PhaseBuild, finding.PhaseDeploy, finding.PhaseRuntime}

// findingParams are the parameters of GET /api/v1/findings.
var findingParams = []string{"phase", "severity", "namespace", "workload", "check", "state", "scope", "digest", "since", "q", "limit", "cursor"}

// findingQuery turns the parameters of GET /api/v1/findings into a store query. Every value is
// checked here, so that a value the store would not understand is a 400 naming the parameter.
func (h *handler) findingQuery(p *params) (store.Query, error) {
	var q store.Query
	for _, v := range p.list("phase") {
		ph := finding.Phase(strings.ToLower(v))
		if !slices.Contains(phases, ph) {
			return q, badRequest("parameter \"phase\": unknown phase %q (want infra, build, deploy or runtime)", v)
		}
		if !slices.Contains(q.Phase, ph) {
			q.Phase = append(q.Phase, ph)
		}
	}
	for _, v := range p.list("severity") {
		s, err := finding.ParseSeverity(v)
		if err != nil {
			return q, badRequest("parameter \"severity\": %v", err)
		}
		if !slices.Contains(q.Severity, s) {
			q.Severity = append(q.Severity, s)
		}
	}
	var err error
	if q.Namespace, err = p.namespace(); err != nil {
		return q, err
	}
	if q.Workload, err = p.one("workload"); err != nil {
		return q, err
	}
	if err := checkWorkload(q.Workload); err != nil {
		return q, err
	}
	if q.Check, err = p.one("check"); err != nil {
		return q, err
	}
	if q.Check != "" && !h.opts.KnownCheck(q.Check) {
		return q, badRequest("parameter \"check\": no check has ID %q (`redoubt checks` lists them)", q.Check)
	}
	if q.State, err = p.one("state"); err != nil {
		return q, err
	}
	if q.State != "" && !slices.Contains(findingStates, q.State) {
		return q, badRequest("parameter \"state\": unknown state %q (want open, resolved or suppressed)", q.State)
	}
	if q.Scope, err = p.scope(); err != nil {
		return q, err
	}
	if q.Digest, err = p.one("digest"); err != nil {
		return q, err
	}
	if q.Digest != "" && !digestPattern.MatchString(q.Digest) {
		return q, badRequest("parameter \"digest\": %q: want sha256: and 64 lower-case hexadecimal digits", q.Digest)
	}
	since, err := p.one("since")
	if err != nil {
		return q, err
	}
	if since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			return q, badRequest("parameter \"since\": %q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", since)
		}
		q.Since = t
	}
	if q.Text, err = p.one("q"); err != nil {
		return q, err
	}
	q.Limit, q.After, err = p.page()
	return q, err
}

// checkWorkload accepts "name" or "Kind/name".
func checkWorkload(w string) error {
	if w == "" {
		return nil
	}
	kind, name, hasKind := strings.Cut(w, "/")
	if !hasKind {
		name, kind = kind, ""
	}
	if hasKind && (kind == "" || strings.ContainsAny(kind, "/ ")) || name == "" || strings.Contains(name, "/") {
		return badRequest("parameter \"workload\": %q: want name or Kind/name, such as Deployment/web", w)
	}
	return nil
}

// cursorOffset reads the cursor of a list the API pages itself: an offset into a sorted list.
func cursorOffset(cursor string, n int) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	off, err := strconv.Atoi(strings.TrimPrefix(cursor, "o"))
	if err != nil || !strings.HasPrefix(cursor, "o") || off < 0 || off > n {
		return 0, badRequest("parameter \"cursor\": %q is not a cursor this list returned", cursor)
	}
	return off, nil
}

func offsetCursor(off, n int) string {
	if off >= n {
		return ""
	}
	return fmt.Sprintf("o%d", off)
}
