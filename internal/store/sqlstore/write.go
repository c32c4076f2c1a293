package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// findingCols are the columns of the findings table, in the order rowArgs gives them.
const findingCols = `id, scope, state, suppressed, supp, phase, severity, check_id, namespace, kind, name, digest, search, first_seen, last_seen, resolved_at, hash, data`

const nFindingCols = 18

// item is one finding of a write, encoded once.
type item struct {
	id   string
	f    *finding.Finding
	data string
	hash string
	supp string // the suppression's JSON, "" when not suppressed
}

// prev is what the store held for a finding before the write.
type prev struct {
	scope     string
	state     store.State
	supp      string
	hash      string
	firstSeen int64
	seen      bool // produced by this write
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// encode fingerprints and encodes the findings, keeping the last of duplicates (two findings
// with one fingerprint are one record) in their first position.
func encode(fs []finding.Finding) ([]item, error) {
	items := make([]item, 0, len(fs))
	at := make(map[string]int, len(fs))
	for i := range fs {
		f := &fs[i]
		data, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("encode finding %s of %s: %w", f.Check, f.Resource, err)
		}
		sum := sha256.Sum256(data)
		it := item{id: store.Fingerprint(f), f: f, data: string(data), hash: hex.EncodeToString(sum[:12])}
		if f.Suppressed != nil {
			s, err := json.Marshal(f.Suppressed)
			if err != nil {
				return nil, fmt.Errorf("encode suppression of %s on %s: %w", f.Check, f.Resource, err)
			}
			it.supp = string(s)
		}
		if j, ok := at[it.id]; ok {
			items[j] = it
			continue
		}
		at[it.id] = len(items)
		items = append(items, it)
	}
	return items, nil
}

// search is the lower-cased text Query.Text matches.
func search(f *finding.Finding) string {
	return strings.ToLower(f.Message + "\n" + f.Title + "\n" + f.Check + "\n" + f.Resource.Name)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// RecordScan stores one audit of a scope in one transaction; see store.Store.
func (s *DB) RecordScan(ctx context.Context, scope store.Scope, started, at time.Time, fs []finding.Finding, note string) (*store.Change, error) {
	return s.write(ctx, scope, started, at, fs, note, true)
}

// AddFindings stores event-like findings without resolving others; see store.Store.
func (s *DB) AddFindings(ctx context.Context, scope store.Scope, at time.Time, fs []finding.Finding) (*store.Change, error) {
	return s.write(ctx, scope, at, at, fs, "", false)
}

func (s *DB) write(ctx context.Context, scope store.Scope, started, at time.Time, fs []finding.Finding, note string, audit bool) (*store.Change, error) {
	if scope == "" {
		return nil, fmt.Errorf("store: a scope is required to record findings")
	}
	items, err := encode(fs)
	if err != nil {
		return nil, err
	}
	atN := nanos(at)
	var ch *store.Change
	err = s.inTx(ctx, true, func(tx Tx) error {
		ch = &store.Change{Scan: store.Scan{Scope: scope, Started: started.UTC(), Finished: at.UTC(), Findings: len(items), Note: note}}
		if audit {
			if err := queryRow(ctx, tx, []any{&ch.Scan.ID},
				`INSERT INTO scans (scope, started, finished, findings, new, reopened, resolved, note) VALUES (?, ?, ?, ?, 0, 0, 0, ?) RETURNING id`,
				string(scope), nanos(started), atN, len(items), note); err != nil {
				return s.wrap(fmt.Errorf("record scan of %s: %w", scope, err))
			}
		}
		// An open finding of an audited scope was last seen at the scope's last audit (see
		// lastSeen), so the rows of findings an audit leaves unchanged are not written at all.
		var prevAudit int64
		if audit {
			if err := queryRow(ctx, tx, []any{&prevAudit}, `SELECT last_audit FROM scopes WHERE scope = ?`, string(scope)); err != nil && err != store.ErrNotFound {
				return s.wrap(fmt.Errorf("record scan of %s: %w", scope, err))
			}
		}
		old, err := s.load(ctx, tx, scope, items, audit)
		if err != nil {
			return s.wrap(fmt.Errorf("record scan of %s: read stored findings: %w", scope, err))
		}
		var ev events
		var inserts []item
		var touch []string // unchanged findings whose last seen moves, when not an audit
		for i := range items {
			it := &items[i]
			p, ok := old[it.id]
			rec := store.Record{ID: it.id, Scope: scope, State: store.StateOpen, Finding: *it.f, FirstSeen: at.UTC(), LastSeen: at.UTC()}
			if !ok {
				inserts = append(inserts, *it)
				ev.add(it.id, store.EventOpened, atN, ch.Scan.ID, "")
				if it.supp != "" {
					ev.add(it.id, store.EventSuppressed, atN, ch.Scan.ID, it.supp)
				}
				ch.New = append(ch.New, rec)
				continue
			}
			p.seen = true
			rec.FirstSeen = fromNanos(p.firstSeen)
			reopened := p.state == store.StateResolved
			if reopened {
				ev.add(it.id, store.EventReopened, atN, ch.Scan.ID, "")
				ch.Reopened = append(ch.Reopened, rec)
			}
			switch {
			case it.supp != "" && it.supp != p.supp:
				ev.add(it.id, store.EventSuppressed, atN, ch.Scan.ID, it.supp)
			case it.supp == "" && p.supp != "":
				ev.add(it.id, store.EventUnsupp, atN, ch.Scan.ID, "")
			}
			if reopened || p.hash != it.hash || p.scope != string(scope) {
				if _, err := tx.Exec(ctx, `UPDATE findings SET scope = ?, state = 'open', suppressed = ?, supp = ?, phase = ?, severity = ?, check_id = ?, namespace = ?, kind = ?, name = ?, digest = ?, search = ?, last_seen = ?, resolved_at = NULL, hash = ?, data = ? WHERE id = ?`,
					string(scope), boolInt(it.supp != ""), it.supp, string(it.f.Phase), int64(it.f.Severity), it.f.Check,
					it.f.Resource.Namespace, it.f.Resource.Kind, it.f.Resource.Name, it.f.Location.Digest, search(it.f), atN, it.hash, it.data, it.id); err != nil {
					return s.wrap(fmt.Errorf("record scan of %s: update finding %s: %w", scope, it.id, err))
				}
			} else if !audit {
				touch = append(touch, it.id)
			}
		}
		if err := s.insertFindings(ctx, tx, scope, inserts, atN); err != nil {
			return s.wrap(fmt.Errorf("record scan of %s: %w", scope, err))
		}
		if audit {
			var gone []string
			for id, p := range old {
				if !p.seen && p.scope == string(scope) && p.state == store.StateOpen {
					gone = append(gone, id)
				}
			}
			if len(gone) > 0 {
				resolved, err := s.resolve(ctx, tx, gone, at, prevAudit)
				if err != nil {
					return s.wrap(fmt.Errorf("record scan of %s: %w", scope, err))
				}
				for _, r := range resolved {
					ev.add(r.ID, store.EventResolved, atN, ch.Scan.ID, "")
				}
				ch.Resolved = resolved
			}
			// Every finding the audit produced is open in the scope now, and its last seen
			// moves with the scope's: one row, so a re-audit that changes little writes little.
			if _, err := tx.Exec(ctx, `INSERT INTO scopes (scope, last_audit, last_scan) VALUES (?, ?, ?) ON CONFLICT (scope) DO UPDATE SET last_audit = excluded.last_audit, last_scan = excluded.last_scan`,
				string(scope), atN, ch.Scan.ID); err != nil {
				return s.wrap(fmt.Errorf("record scan of %s: %w", scope, err))
			}
			ch.Scan.New, ch.Scan.Reopened, ch.Scan.Resolved = len(ch.New), len(ch.Reopened), len(ch.Resolved)
			if _, err := tx.Exec(ctx, `UPDATE scans SET new = ?, reopened = ?, resolved = ? WHERE id = ?`,
				ch.Scan.New, ch.Scan.Reopened, ch.Scan.Resolved, ch.Scan.ID); err != nil {
				return s.wrap(fmt.Errorf("record scan of %s: %w", scope, err))
			}
		} else {
			for ids := range chunks(touch, 500) {
				args := append([]any{atN}, anys(ids)...)
				if _, err := tx.Exec(ctx, `UPDATE findings SET last_seen = ? WHERE id IN (`+marks(len(ids))+`)`, args...); err != nil {
					return s.wrap(fmt.Errorf("add findings to %s: %w", scope, err))
				}
			}
			ch.Scan.New, ch.Scan.Reopened = len(ch.New), len(ch.Reopened)
		}
		if err := ev.insert(ctx, tx); err != nil {
			return s.wrap(fmt.Errorf("record scan of %s: history: %w", scope, err))
		}
		if err := s.notify(ctx, tx, ch, atN); err != nil {
			return s.wrap(fmt.Errorf("record scan of %s: %w", scope, err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// load reads what the store holds for the scope (when an audit replaces it) and for every
// finding of the write, which may have lived in another scope until now.
func (s *DB) load(ctx context.Context, tx Tx, scope store.Scope, items []item, audit bool) (map[string]*prev, error) {
	old := map[string]*prev{}
	read := func(q string, args ...any) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, sc, state, supp, hash string
			var first int64
			if err := rows.Scan(&id, &sc, &state, &supp, &hash, &first); err != nil {
				return err
			}
			old[id] = &prev{scope: sc, state: store.State(state), supp: supp, hash: hash, firstSeen: first}
		}
		return rows.Err()
	}
	const cols = `SELECT id, scope, state, supp, hash, first_seen FROM findings`
	if audit {
		if err := read(cols+` WHERE scope = ?`, string(scope)); err != nil {
			return nil, err
		}
	}
	var missing []string
	for i := range items {
		if _, ok := old[items[i].id]; !ok {
			missing = append(missing, items[i].id)
		}
	}
	for ids := range chunks(missing, 500) {
		if err := read(cols+` WHERE id IN (`+marks(len(ids))+`)`, anys(ids)...); err != nil {
			return nil, err
		}
	}
	return old, nil
}

// insertFindings writes new findings, many rows per statement or by Copier.
func (s *DB) insertFindings(ctx context.Context, tx Tx, scope store.Scope, items []item, atN int64) error {
	if c, ok := tx.(Copier); ok && len(items) >= copyMin {
		rows := make([][]any, len(items))
		for i, it := range items {
			rows[i] = []any{it.id, string(scope), string(store.StateOpen), boolInt(it.supp != ""), it.supp,
				string(it.f.Phase), int64(it.f.Severity), it.f.Check, it.f.Resource.Namespace, it.f.Resource.Kind,
				it.f.Resource.Name, it.f.Location.Digest, search(it.f), atN, atN, nil, it.hash, it.data}
		}
		if err := c.CopyFrom(ctx, "findings", strings.Split(strings.ReplaceAll(findingCols, " ", ""), ","), rows); err != nil {
			return fmt.Errorf("insert findings: %w", err)
		}
		return nil
	}
	const per = 100
	for len(items) > 0 {
		n := min(per, len(items))
		var b strings.Builder
		b.WriteString(`INSERT INTO findings (` + findingCols + `) VALUES `)
		args := make([]any, 0, n*nFindingCols)
		row := "(" + marks(nFindingCols) + ")"
		for i, it := range items[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
			args = append(args, it.id, string(scope), string(store.StateOpen), boolInt(it.supp != ""), it.supp,
				string(it.f.Phase), int64(it.f.Severity), it.f.Check, it.f.Resource.Namespace, it.f.Resource.Kind,
				it.f.Resource.Name, it.f.Location.Digest, search(it.f), atN, atN, nil, it.hash, it.data)
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert findings: %w", err)
		}
		items = items[n:]
	}
	return nil
}

// resolve marks open findings of an audited scope resolved at `at`; they were last seen at
// the scope's previous audit, prevAudit, which their rows now keep.
func (s *DB) resolve(ctx context.Context, tx Tx, ids []string, at time.Time, prevAudit int64) ([]store.Record, error) {
	var out []store.Record
	for chunk := range chunks(ids, 500) {
		if _, err := tx.Exec(ctx, `UPDATE findings SET state = 'resolved', resolved_at = ?, last_seen = CASE WHEN ? > last_seen THEN ? ELSE last_seen END WHERE id IN (`+marks(len(chunk))+`)`,
			append([]any{nanos(at), prevAudit, prevAudit}, anys(chunk)...)...); err != nil {
			return nil, fmt.Errorf("resolve findings: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+recordCols+` FROM `+recordFrom+` WHERE f.id IN (`+marks(len(chunk))+`) ORDER BY f.severity DESC, f.id`, anys(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("read resolved findings: %w", err)
		}
		recs, err := scanRecords(rows)
		if err != nil {
			return nil, fmt.Errorf("read resolved findings: %w", err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// events collects history rows to write in a few statements.
type events struct {
	args []any
	n    int
}

func (e *events) add(id string, kind store.EventKind, at, scanID int64, supp string) {
	var sp any
	if supp != "" {
		sp = supp
	}
	e.args = append(e.args, id, string(kind), at, scanID, sp)
	e.n++
}

func (e *events) insert(ctx context.Context, tx Tx) error {
	const per, cols = 200, 5
	if c, ok := tx.(Copier); ok && e.n >= copyMin {
		rows := make([][]any, e.n)
		for i := range rows {
			rows[i] = e.args[i*cols : (i+1)*cols]
		}
		return c.CopyFrom(ctx, "events", []string{"finding_id", "kind", "at", "scan_id", "suppression"}, rows)
	}
	row := "(" + marks(cols) + ")"
	for off := 0; off < e.n; off += per {
		n := min(per, e.n-off)
		var b strings.Builder
		b.WriteString(`INSERT INTO events (finding_id, kind, at, scan_id, suppression) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		if _, err := tx.Exec(ctx, b.String(), e.args[off*cols:(off+n)*cols]...); err != nil {
			return err
		}
	}
	return nil
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// chunks yields ss in slices of at most n.
func chunks(ss []string, n int) func(yield func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(ss) > 0 {
			k := min(n, len(ss))
			if !yield(ss[:k]) {
				return
			}
			ss = ss[k:]
		}
	}
}
