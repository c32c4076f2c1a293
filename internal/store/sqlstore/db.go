// Package sqlstore is the store.Store both engines share: the history semantics, queries and
// work queue written once in the SQL that SQLite and PostgreSQL both speak. An engine (packages
// sqlite and postgres) opens its database, runs its own schema migrations, and hands this
// package a Conn and a Dialect for the few things the two spell differently.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"redoubt.dev/redoubt/internal/store"
)

// Rows is a result set, as both database/sql and pgx return one.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Querier runs statements. Statements are written with ? placeholders; an engine whose driver
// wants $1, $2... rewrites them (see Rebind).
type Querier interface {
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	Query(ctx context.Context, q string, args ...any) (Rows, error)
}

// Tx is one transaction.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Copier is implemented by transactions that load many rows faster than INSERT does
// (PostgreSQL's COPY); the first audit of a large cluster writes tens of thousands.
type Copier interface {
	CopyFrom(ctx context.Context, table string, cols []string, rows [][]any) error
}

// copyMin is the number of rows from which Copier is used.
const copyMin = 64

// Conn is a pool of connections to one database.
type Conn interface {
	Querier
	Begin(ctx context.Context) (Tx, error)
	Close() error
}

// Dialect is what differs between engines.
type Dialect struct {
	// Name names the engine in errors ("sqlite", "postgres").
	Name string
	// Where names the database in errors: the file or the host and database name.
	Where string
	// SerializeWrites makes this process run one write transaction at a time: SQLite has one
	// writer per file, and waiting in Go is cheaper and fairer than SQLite's busy retries.
	SerializeWrites bool
	// LockWrites, when set, is run first in every findings write transaction so that writers
	// from several processes take turns (PostgreSQL: a transaction-scoped advisory lock).
	LockWrites string
	// SkipLocked is appended to the queue's claim SELECT (PostgreSQL: FOR UPDATE SKIP LOCKED).
	SkipLocked string
}

// DB is the store over one SQL database.
type DB struct {
	conn Conn
	d    Dialect
	// wmu serializes write transactions when the dialect asks for it.
	wmu sync.Mutex
}

var (
	_ store.Store = (*DB)(nil)
	_ store.Queue = (*DB)(nil)
)

// New returns the store over conn, whose schema the engine has already migrated.
func New(conn Conn, d Dialect) *DB { return &DB{conn: conn, d: d} }

// Close releases the database.
func (s *DB) Close() error { return s.conn.Close() }

// Conn returns the connection pool, for engine-specific tests and tools.
func (s *DB) Conn() Conn { return s.conn }

// inTx runs fn in one write transaction, committed when fn returns nil and rolled back
// otherwise, so a failure or a crash leaves nothing half-written.
func (s *DB) inTx(ctx context.Context, lock bool, fn func(tx Tx) error) (err error) {
	if s.d.SerializeWrites {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return s.wrap(err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if lock && s.d.LockWrites != "" {
		if _, err := tx.Exec(ctx, s.d.LockWrites); err != nil {
			return s.wrap(err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// wrap names the database in an error that does not already carry a store sentinel.
func (s *DB) wrap(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidQuery) ||
		errors.Is(err, store.ErrQueueEmpty) || errors.Is(err, store.ErrLeaseLost) {
		return err
	}
	return fmt.Errorf("store %s %s: %w", s.d.Name, s.d.Where, err)
}

// queryRow runs q and scans its first row into dest; store.ErrNotFound when there is none.
func queryRow(ctx context.Context, q Querier, dest []any, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return store.ErrNotFound
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Err()
}

// Rebind rewrites ? placeholders as $1, $2, ... for drivers that want numbered ones. The
// statements of this package never hold a ? inside a literal.
func Rebind(q string) string {
	n := 0
	out := make([]byte, 0, len(q)+16)
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, '$')
			out = fmt.Appendf(out, "%d", n)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}
