package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"redoubt.dev/redoubt/internal/store"
)

var _ store.ExceptionStore = (*DB)(nil)

// AddException stores an exception added through the API; see store.ExceptionStore. The
// exception's JSON drops Expires (it is `json:"-"` in the policy model), so expiry has its own
// column.
func (s *DB) AddException(ctx context.Context, e store.StoredException) (*store.StoredException, error) {
	if err := e.Exception.Validate(); err != nil {
		return nil, fmt.Errorf("store: exception: %w", err)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id) // never fails, says crypto/rand
	e.ID = hex.EncodeToString(id)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.CreatedAt = e.CreatedAt.UTC()
	e.Exception.Source = "api"
	data, err := json.Marshal(&e.Exception)
	if err != nil {
		return nil, fmt.Errorf("store: encode exception: %w", err)
	}
	var expires int64
	if !e.Exception.Expires.IsZero() {
		expires = nanos(e.Exception.Expires)
	}
	err = s.inTx(ctx, false, func(tx Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO exceptions (id, data, expires, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
			e.ID, string(data), expires, e.CreatedBy, nanos(e.CreatedAt))
		if err != nil {
			return s.wrap(fmt.Errorf("store exception: %w", err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// Exceptions returns every stored exception, oldest first.
func (s *DB) Exceptions(ctx context.Context) ([]store.StoredException, error) {
	rows, err := s.conn.Query(ctx, `SELECT id, data, expires, created_by, created_at FROM exceptions ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("exceptions: %w", err))
	}
	defer rows.Close()
	var out []store.StoredException
	for rows.Next() {
		var e store.StoredException
		var data string
		var expires, created int64
		if err := rows.Scan(&e.ID, &data, &expires, &e.CreatedBy, &created); err != nil {
			return nil, s.wrap(fmt.Errorf("exceptions: %w", err))
		}
		if err := json.Unmarshal([]byte(data), &e.Exception); err != nil {
			return nil, fmt.Errorf("exceptions: exception %s: %w", e.ID, err)
		}
		e.Exception.Source = "api"
		if expires != 0 {
			e.Exception.Expires = fromNanos(expires)
		}
		e.CreatedAt = fromNanos(created)
		out = append(out, e)
	}
	return out, s.wrap(rows.Err())
}
