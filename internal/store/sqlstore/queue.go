package sqlstore

import (
	"context"
	"fmt"
	"time"

	"redoubt.dev/redoubt/internal/store"
)

// The queue table holds one row per digest: lease_until is 0 while the job waits, and a claim
// sets owner and lease_until. A claim whose lease has passed is ready again, so a replica that
// died mid-scan gives its job back by doing nothing.

// Enqueue adds a digest to scan; see store.Queue.
func (s *DB) Enqueue(ctx context.Context, digest, ref string, at time.Time) error {
	if digest == "" {
		return fmt.Errorf("store: enqueue: an image digest is required")
	}
	return s.inTx(ctx, false, func(tx Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO scan_queue (digest, ref, enqueued_at, not_before, owner, lease_until, attempts) VALUES (?, ?, ?, 0, '', 0, 0) ON CONFLICT (digest) DO NOTHING`,
			digest, ref, nanos(at)); err != nil {
			return s.wrap(fmt.Errorf("enqueue %s: %w", digest, err))
		}
		return nil
	})
}

// Claim takes the oldest ready job; see store.Queue. The transaction holds only the select and
// the update, so claimers wait on each other for microseconds, never for a scan.
func (s *DB) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration) (*store.Job, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("store: claim needs an owner and a positive lease")
	}
	var job *store.Job
	err := s.inTx(ctx, false, func(tx Tx) error {
		j := &store.Job{}
		var enq, att int64
		err := queryRow(ctx, tx, []any{&j.Digest, &j.Ref, &enq, &att},
			`SELECT digest, ref, enqueued_at, attempts FROM scan_queue WHERE lease_until <= ? AND not_before <= ? ORDER BY enqueued_at, digest LIMIT 1`+s.d.SkipLocked,
			nanos(now), nanos(now))
		if err == store.ErrNotFound {
			return store.ErrQueueEmpty
		}
		if err != nil {
			return s.wrap(fmt.Errorf("claim a scan job: %w", err))
		}
		until := now.Add(lease)
		if _, err := tx.Exec(ctx, `UPDATE scan_queue SET owner = ?, lease_until = ?, attempts = attempts + 1 WHERE digest = ?`,
			owner, nanos(until), j.Digest); err != nil {
			return s.wrap(fmt.Errorf("claim %s: %w", j.Digest, err))
		}
		j.Enqueued, j.Owner, j.LeaseUntil, j.Attempts = fromNanos(enq), owner, until.UTC(), int(att)+1
		job = j
		return nil
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

// Complete removes a claimed job; see store.Queue.
func (s *DB) Complete(ctx context.Context, digest, owner string) error {
	return s.inTx(ctx, false, func(tx Tx) error {
		n, err := tx.Exec(ctx, `DELETE FROM scan_queue WHERE digest = ? AND owner = ? AND lease_until > 0`, digest, owner)
		if err != nil {
			return s.wrap(fmt.Errorf("complete %s: %w", digest, err))
		}
		if n == 0 {
			return fmt.Errorf("complete scan of %s by %s: %w", digest, owner, store.ErrLeaseLost)
		}
		return nil
	})
}

// Release gives a claimed job back; see store.Queue.
func (s *DB) Release(ctx context.Context, digest, owner string, retryAt time.Time) error {
	return s.inTx(ctx, false, func(tx Tx) error {
		n, err := tx.Exec(ctx, `UPDATE scan_queue SET owner = '', lease_until = 0, not_before = ? WHERE digest = ? AND owner = ? AND lease_until > 0`,
			nanos(retryAt), digest, owner)
		if err != nil {
			return s.wrap(fmt.Errorf("release %s: %w", digest, err))
		}
		if n == 0 {
			return fmt.Errorf("release scan of %s by %s: %w", digest, owner, store.ErrLeaseLost)
		}
		return nil
	})
}

// Pending counts the jobs queued or claimed.
func (s *DB) Pending(ctx context.Context) (int, error) {
	var n int64
	if err := queryRow(ctx, s.conn, []any{&n}, `SELECT count(*) FROM scan_queue`); err != nil {
		return 0, s.wrap(fmt.Errorf("count scan jobs: %w", err))
	}
	return int(n), nil
}
