package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

var _ store.Exceptions = (*DB)(nil)

// SourceAPI is the Source of exceptions added through the API, as their suppressions show it.
const SourceAPI = "api"

// AddException validates and stores an exception; see store.Exceptions. Unlike the file's,
// an exception added at run time must expire: one that nobody revisits should not hide a
// finding for ever.
func (s *DB) AddException(ctx context.Context, e finding.Exception, by string, at time.Time) (*store.StoredException, error) {
	e.Source, e.File, e.Line = SourceAPI, "", 0
	var problems []string
	if err := e.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	switch {
	case e.Expires.IsZero():
		problems = append(problems, "an expiry date is required")
	case e.Expired(finding.Today(at)):
		problems = append(problems, fmt.Sprintf("it expires on %s, which is not in the future", e.Expires.Format(time.DateOnly)))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", store.ErrInvalidException, strings.Join(problems, "; "))
	}
	e.Expires = finding.Today(e.Expires)
	data, err := json.Marshal(&e)
	if err != nil {
		return nil, fmt.Errorf("encode exception: %w", err)
	}
	se := &store.StoredException{Exception: e, Expires: e.Expires.Format(time.DateOnly), Created: at.UTC(), CreatedBy: by}
	err = s.inTx(ctx, false, func(tx Tx) error {
		if err := queryRow(ctx, tx, []any{&se.ID}, `INSERT INTO exceptions (data, expires, created, created_by) VALUES (?, ?, ?, ?) RETURNING id`,
			string(data), se.Expires, nanos(at), by); err != nil {
			return s.wrap(fmt.Errorf("store exception: %w", err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return se, nil
}

// ListExceptions returns every stored exception, oldest first.
func (s *DB) ListExceptions(ctx context.Context) ([]store.StoredException, error) {
	rows, err := s.conn.Query(ctx, `SELECT id, data, expires, created, created_by FROM exceptions ORDER BY id`)
	if err != nil {
		return nil, s.wrap(fmt.Errorf("exceptions: %w", err))
	}
	defer rows.Close()
	var out []store.StoredException
	for rows.Next() {
		var se store.StoredException
		var data string
		var created int64
		if err := rows.Scan(&se.ID, &data, &se.Expires, &created, &se.CreatedBy); err != nil {
			return nil, s.wrap(err)
		}
		if err := json.Unmarshal([]byte(data), &se.Exception); err != nil {
			return nil, s.wrap(fmt.Errorf("exception %d: stored record is not readable: %w", se.ID, err))
		}
		exp, err := time.Parse(time.DateOnly, se.Expires)
		if err != nil {
			return nil, s.wrap(fmt.Errorf("exception %d: stored expiry %q: %w", se.ID, se.Expires, err))
		}
		se.Exception.Expires, se.Exception.Source, se.Created = exp, SourceAPI, fromNanos(created)
		out = append(out, se)
	}
	return out, s.wrap(rows.Err())
}

// DeleteException removes one stored exception.
func (s *DB) DeleteException(ctx context.Context, id int64) error {
	return s.inTx(ctx, false, func(tx Tx) error {
		n, err := tx.Exec(ctx, `DELETE FROM exceptions WHERE id = ?`, id)
		if err != nil {
			return s.wrap(fmt.Errorf("delete exception %d: %w", id, err))
		}
		if n == 0 {
			return fmt.Errorf("exception %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}
