package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

var _ store.Outbox = (*DB)(nil)

// maxReason bounds the delivery error kept per notification: a receiver's error page is not
// worth storing whole.
const maxReason = 1024

// SetReceivers replaces the receivers; see store.Outbox.
func (s *DB) SetReceivers(ctx context.Context, rs []store.Receiver) error {
	seen := map[string]bool{}
	for _, r := range rs {
		if r.Name == "" || seen[r.Name] {
			return fmt.Errorf("store: receivers need distinct, non-empty names (got %q twice or empty)", r.Name)
		}
		if r.MinSeverity < finding.Info || r.MinSeverity > finding.Critical {
			return fmt.Errorf("store: receiver %s: unknown severity %s", r.Name, r.MinSeverity)
		}
		seen[r.Name] = true
	}
	return s.inTx(ctx, true, func(tx Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM receivers`); err != nil {
			return s.wrap(fmt.Errorf("set receivers: %w", err))
		}
		for _, r := range rs {
			if _, err := tx.Exec(ctx, `INSERT INTO receivers (name, min_severity, resolved) VALUES (?, ?, ?)`, r.Name, int64(r.MinSeverity), boolInt(r.Resolved)); err != nil {
				return s.wrap(fmt.Errorf("set receiver %s: %w", r.Name, err))
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE delivered_at IS NULL AND receiver NOT IN (SELECT name FROM receivers)`); err != nil {
			return s.wrap(fmt.Errorf("drop notifications of removed receivers: %w", err))
		}
		return nil
	})
}

// notify writes, inside a findings write, the notifications its change means for each
// receiver.
func (s *DB) notify(ctx context.Context, tx Tx, ch *store.Change, atN int64) error {
	rows, err := tx.Query(ctx, `SELECT name, min_severity, resolved FROM receivers`)
	if err != nil {
		return fmt.Errorf("read receivers: %w", err)
	}
	var rs []store.Receiver
	for rows.Next() {
		var r store.Receiver
		var sev, res int64
		if err := rows.Scan(&r.Name, &sev, &res); err != nil {
			rows.Close()
			return err
		}
		r.MinSeverity, r.Resolved = finding.Severity(sev), res == 1
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(rs) == 0 {
		return err
	}
	var args []any
	n := 0
	add := func(recs []store.Record, kind store.EventKind) {
		for _, r := range rs {
			if kind == store.EventResolved && !r.Resolved {
				continue
			}
			for i := range recs {
				f := &recs[i].Finding
				if f.Suppressed != nil || f.Severity < r.MinSeverity {
					continue
				}
				args = append(args, r.Name, recs[i].ID, string(kind), ch.Scan.ID, atN)
				n++
			}
		}
	}
	add(ch.New, store.EventOpened)
	add(ch.Reopened, store.EventReopened)
	add(ch.Resolved, store.EventResolved)
	const per, cols = 200, 5
	row := "(" + marks(cols) + ", 0, 0, 0, '', '')"
	for off := 0; off < n; off += per {
		k := min(per, n-off)
		var b strings.Builder
		b.WriteString(`INSERT INTO outbox (receiver, finding_id, kind, scan_id, created, attempts, next_try, lease_until, owner, last_error) VALUES `)
		for i := range k {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		if _, err := tx.Exec(ctx, b.String(), args[off*cols:(off+k)*cols]...); err != nil {
			return fmt.Errorf("write notifications: %w", err)
		}
	}
	return nil
}

// ClaimNotifications takes a batch of due notifications; see store.Outbox.
func (s *DB) ClaimNotifications(ctx context.Context, receiver, owner string, now time.Time, lease time.Duration, max int) ([]store.Notification, error) {
	if owner == "" || lease <= 0 || max <= 0 {
		return nil, fmt.Errorf("store: claiming notifications needs an owner, a positive lease and a positive batch size")
	}
	var out []store.Notification
	err := s.inTx(ctx, false, func(tx Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM outbox WHERE receiver = ? AND delivered_at IS NULL AND next_try <= ? AND lease_until <= ? ORDER BY id LIMIT ?`+s.d.SkipLocked,
			receiver, nanos(now), nanos(now), max)
		if err != nil {
			return s.wrap(fmt.Errorf("claim notifications for %s: %w", receiver, err))
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return s.wrap(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err)
		}
		if len(ids) == 0 {
			return nil
		}
		in := `(` + marks(len(ids)) + `)`
		if _, err := tx.Exec(ctx, `UPDATE outbox SET owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id IN `+in,
			append([]any{owner, nanos(now.Add(lease))}, ids...)...); err != nil {
			return s.wrap(fmt.Errorf("claim notifications for %s: %w", receiver, err))
		}
		rows, err = tx.Query(ctx, `SELECT o.id, o.kind, o.scan_id, o.created, o.attempts, o.next_try, o.last_error, `+recordCols+
			` FROM outbox o JOIN findings f ON f.id = o.finding_id LEFT JOIN scopes s ON s.scope = f.scope WHERE o.id IN `+in+` ORDER BY o.id`, ids...)
		if err != nil {
			return s.wrap(fmt.Errorf("read notifications for %s: %w", receiver, err))
		}
		defer rows.Close()
		for rows.Next() {
			n := store.Notification{Receiver: receiver}
			var kind string
			var created, attempts, next int64
			var dest recordDest
			if err := rows.Scan(append([]any{&n.ID, &kind, &n.ScanID, &created, &attempts, &next, &n.LastError}, dest.targets()...)...); err != nil {
				return s.wrap(err)
			}
			rec, err := dest.record()
			if err != nil {
				return s.wrap(err)
			}
			n.Kind, n.Created, n.Attempts, n.Record = store.EventKind(kind), fromNanos(created), int(attempts), rec
			if next > 0 {
				n.NextTry = fromNanos(next)
			}
			out = append(out, n)
		}
		return s.wrap(rows.Err())
	})
	return out, err
}

// settle updates claimed notifications that owner still holds, all or none.
func (s *DB) settle(ctx context.Context, what, owner string, ids []int64, set string, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, false, func(tx Tx) error {
		idArgs := make([]any, len(ids))
		for i, id := range ids {
			idArgs[i] = id
		}
		n, err := tx.Exec(ctx, `UPDATE outbox SET `+set+` WHERE owner = ? AND lease_until > 0 AND delivered_at IS NULL AND id IN (`+marks(len(ids))+`)`,
			append(append(args, owner), idArgs...)...)
		if err != nil {
			return s.wrap(fmt.Errorf("%s: %w", what, err))
		}
		if int(n) != len(ids) {
			return fmt.Errorf("%s: %d of %d notifications are no longer claimed by %s: %w", what, len(ids)-int(n), len(ids), owner, store.ErrLeaseLost)
		}
		return nil
	})
}

// Delivered marks claimed notifications sent; see store.Outbox.
func (s *DB) Delivered(ctx context.Context, owner string, ids []int64, at time.Time) error {
	return s.settle(ctx, "mark notifications delivered", owner, ids, `delivered_at = ?, lease_until = 0`, nanos(at))
}

// DeliveryFailed returns claimed notifications to wait until nextTry; see store.Outbox.
func (s *DB) DeliveryFailed(ctx context.Context, owner string, ids []int64, nextTry time.Time, reason string) error {
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	return s.settle(ctx, "mark notifications failed", owner, ids, `next_try = ?, lease_until = 0, owner = '', last_error = ?`, nanos(nextTry), reason)
}

// OutboxStats reports each receiver's backlog; see store.Outbox.
func (s *DB) OutboxStats(ctx context.Context) ([]store.ReceiverStats, error) {
	rows, err := s.conn.Query(ctx, `SELECT r.name, count(o.id), coalesce(min(o.created), 0), coalesce(sum(CASE WHEN o.last_error <> '' THEN 1 ELSE 0 END), 0)
FROM receivers r LEFT JOIN outbox o ON o.receiver = r.name AND o.delivered_at IS NULL GROUP BY r.name ORDER BY r.name`)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("outbox stats: %w", err))
	}
	defer rows.Close()
	var out []store.ReceiverStats
	for rows.Next() {
		var st store.ReceiverStats
		var pending, oldest, failing int64
		if err := rows.Scan(&st.Receiver, &pending, &oldest, &failing); err != nil {
			return nil, s.wrap(err)
		}
		st.Pending, st.Failing = int(pending), int(failing)
		if oldest > 0 {
			st.Oldest = fromNanos(oldest)
		}
		out = append(out, st)
	}
	return out, s.wrap(rows.Err())
}

// PruneDelivered deletes notifications delivered before `before`; see store.Outbox.
func (s *DB) PruneDelivered(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, false, func(tx Tx) error {
		var err error
		n, err = tx.Exec(ctx, `DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?`, nanos(before))
		if err != nil {
			return s.wrap(fmt.Errorf("prune delivered notifications: %w", err))
		}
		return nil
	})
	return int(n), err
}
