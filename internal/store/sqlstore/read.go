package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// lastSeen is a finding's last seen: an open finding of an audited scope was seen by the
// scope's last audit; any other keeps the time in its row.
const lastSeen = `(CASE WHEN f.state = 'open' AND s.last_audit IS NOT NULL THEN s.last_audit ELSE f.last_seen END)`

const (
	recordCols = `f.id, f.scope, f.state, f.first_seen, ` + lastSeen + `, f.resolved_at, f.severity, f.data`
	recordFrom = `findings f LEFT JOIN scopes s ON s.scope = f.scope`
)

// Page sizes of Query.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// recordDest receives the recordCols of one row.
type recordDest struct {
	id, scope, state, data string
	first, last, sev       int64
	resolved               *int64
}

func (d *recordDest) targets() []any {
	return []any{&d.id, &d.scope, &d.state, &d.first, &d.last, &d.resolved, &d.sev, &d.data}
}

func (d *recordDest) record() (store.Record, error) {
	r := store.Record{ID: d.id, Scope: store.Scope(d.scope), State: store.State(d.state), FirstSeen: fromNanos(d.first), LastSeen: fromNanos(d.last)}
	if err := json.Unmarshal([]byte(d.data), &r.Finding); err != nil {
		return r, fmt.Errorf("finding %s: stored record is not readable: %w", d.id, err)
	}
	if d.resolved != nil {
		t := fromNanos(*d.resolved)
		r.ResolvedAt = &t
	}
	return r, nil
}

func scanRecords(rows Rows) ([]store.Record, error) {
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		var d recordDest
		if err := rows.Scan(d.targets()...); err != nil {
			return nil, err
		}
		r, err := d.record()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", store.ErrInvalidQuery, field, fmt.Sprintf(format, args...))
}

// maxFilter bounds a text filter: the values come from API clients.
const maxFilter = 1024

// where turns a query's filters into a WHERE clause; an unknown value is store.ErrInvalidQuery.
func where(q store.Query) (string, []any, error) {
	var conds []string
	var args []any
	for name, v := range map[string]string{"namespace": q.Namespace, "workload": q.Workload, "check": q.Check, "text": q.Text, "scope": string(q.Scope), "digest": q.Digest, "after": q.After} {
		if len(v) > maxFilter {
			return "", nil, invalid(name, "longer than %d bytes", maxFilter)
		}
	}
	if len(q.Phase) > 0 {
		for _, p := range q.Phase {
			switch p {
			case finding.PhaseInfra, finding.PhaseBuild, finding.PhaseDeploy, finding.PhaseRuntime:
			default:
				return "", nil, invalid("phase", "unknown phase %q (want infra, build, deploy or runtime)", p)
			}
			args = append(args, string(p))
		}
		conds = append(conds, `f.phase IN (`+marks(len(q.Phase))+`)`)
	}
	if len(q.Severity) > 0 {
		for _, sv := range q.Severity {
			if sv < finding.Info || sv > finding.Critical {
				return "", nil, invalid("severity", "unknown severity %s (want critical, high, medium, low or info)", sv)
			}
			args = append(args, int64(sv))
		}
		conds = append(conds, `f.severity IN (`+marks(len(q.Severity))+`)`)
	}
	if q.Namespace != "" {
		conds, args = append(conds, `f.namespace = ?`), append(args, q.Namespace)
	}
	if q.Workload != "" {
		if kind, name, ok := strings.Cut(q.Workload, "/"); ok {
			if kind == "" || name == "" || strings.Contains(name, "/") {
				return "", nil, invalid("workload", "%q is neither Kind/name nor name", q.Workload)
			}
			conds, args = append(conds, `f.kind = ? AND f.name = ?`), append(args, kind, name)
		} else {
			conds, args = append(conds, `f.name = ?`), append(args, q.Workload)
		}
	}
	if q.Check != "" {
		conds, args = append(conds, `f.check_id = ?`), append(args, q.Check)
	}
	switch q.State {
	case "":
	case string(store.StateOpen), string(store.StateResolved):
		conds, args = append(conds, `f.state = ?`), append(args, q.State)
	case "suppressed":
		conds = append(conds, `f.state = 'open' AND f.suppressed = 1`)
	default:
		return "", nil, invalid("state", "unknown state %q (want open, resolved or suppressed)", q.State)
	}
	if q.Scope != "" {
		conds, args = append(conds, `f.scope = ?`), append(args, string(q.Scope))
	}
	if q.Digest != "" {
		conds, args = append(conds, `f.digest = ?`), append(args, q.Digest)
	}
	if !q.Since.IsZero() {
		conds, args = append(conds, lastSeen+` >= ?`), append(args, nanos(q.Since))
	}
	if q.Text != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q.Text))
		conds, args = append(conds, `f.search LIKE ? ESCAPE '\'`), append(args, "%"+esc+"%")
	}
	if q.After != "" {
		sev, id, err := decodeCursor(q.After)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, `(f.severity < ? OR (f.severity = ? AND f.id > ?))`), append(args, sev, sev, id)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return ` WHERE ` + strings.Join(conds, ` AND `), args, nil
}

// A cursor is the sort key of the last record of a page: most severe first, then by ID, so a
// page boundary stays put while audits add and resolve findings around it.
func encodeCursor(r *store.Record) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(int(r.Finding.Severity)) + ":" + r.ID))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if s, id, ok := strings.Cut(string(b), ":"); ok && id != "" {
			if sev, err := strconv.ParseInt(s, 10, 64); err == nil {
				return sev, id, nil
			}
		}
	}
	return 0, "", invalid("after", "%q is not a cursor this store returned", c)
}

// Findings returns one page of findings; see store.Store.
func (s *DB) Findings(ctx context.Context, q store.Query) ([]store.Record, string, error) {
	limit := q.Limit
	switch {
	case limit < 0:
		return nil, "", invalid("limit", "%d is negative", limit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	w, args, err := where(q)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.conn.Query(ctx, `SELECT `+recordCols+` FROM `+recordFrom+w+` ORDER BY f.severity DESC, f.id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", s.wrap(fmt.Errorf("query findings: %w", err))
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, "", s.wrap(fmt.Errorf("query findings: %w", err))
	}
	next := ""
	if len(recs) > limit {
		recs = recs[:limit]
		next = encodeCursor(&recs[limit-1])
	}
	return recs, next, nil
}

// Finding returns one stored finding by ID.
func (s *DB) Finding(ctx context.Context, id string) (*store.Record, error) {
	rows, err := s.conn.Query(ctx, `SELECT `+recordCols+` FROM `+recordFrom+` WHERE f.id = ?`, id)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("finding %s: %w", id, err))
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("finding %s: %w", id, err))
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("finding %s: %w", id, store.ErrNotFound)
	}
	return &recs[0], nil
}

// History returns a finding's events, oldest first.
func (s *DB) History(ctx context.Context, id string) ([]store.Event, error) {
	rows, err := s.conn.Query(ctx, `SELECT kind, at, scan_id, suppression FROM events WHERE finding_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("history of finding %s: %w", id, err))
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		e := store.Event{FindingID: id}
		var kind string
		var at int64
		var supp *string
		if err := rows.Scan(&kind, &at, &e.ScanID, &supp); err != nil {
			return nil, s.wrap(fmt.Errorf("history of finding %s: %w", id, err))
		}
		e.Kind, e.At = store.EventKind(kind), fromNanos(at)
		if supp != nil {
			e.Suppression = new(finding.Suppression)
			if err := json.Unmarshal([]byte(*supp), e.Suppression); err != nil {
				return nil, s.wrap(fmt.Errorf("history of finding %s: stored suppression is not readable: %w", id, err))
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(fmt.Errorf("history of finding %s: %w", id, err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("history of finding %s: %w", id, store.ErrNotFound)
	}
	return out, nil
}

// Scans returns the newest scans of a scope ("" for every scope) first.
func (s *DB) Scans(ctx context.Context, scope store.Scope, limit int) ([]store.Scan, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	q, args := `SELECT id, scope, started, finished, findings, new, reopened, resolved, note FROM scans`, []any{}
	if scope != "" {
		q, args = q+` WHERE scope = ?`, append(args, string(scope))
	}
	rows, err := s.conn.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("scans: %w", err))
	}
	defer rows.Close()
	var out []store.Scan
	for rows.Next() {
		var sc store.Scan
		var scopeS string
		var started, finished, n, nw, re, rs int64
		if err := rows.Scan(&sc.ID, &scopeS, &started, &finished, &n, &nw, &re, &rs, &sc.Note); err != nil {
			return nil, s.wrap(fmt.Errorf("scans: %w", err))
		}
		sc.Scope, sc.Started, sc.Finished = store.Scope(scopeS), fromNanos(started), fromNanos(finished)
		sc.Findings, sc.New, sc.Reopened, sc.Resolved = int(n), int(nw), int(re), int(rs)
		out = append(out, sc)
	}
	return out, s.wrap(rows.Err())
}
