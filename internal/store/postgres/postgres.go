// Package postgres is the store engine for several replicas of `redoubt serve`: PostgreSQL
// through pgx's connection pool. It shares the history semantics, queries and queue with the
// SQLite engine (package sqlstore) and differs in its schema dialect, in locking (an advisory
// lock so replicas' audit writes take turns; FOR UPDATE SKIP LOCKED so claimers never wait on
// each other's jobs) and in placeholders.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"redoubt.dev/redoubt/internal/store/sqlstore"
)

// Advisory lock keys (pg_advisory_xact_lock): one for schema migrations, one for findings
// writes. Arbitrary, fixed, and only ever taken by Redoubt on its own database.
const (
	lockMigrate  = 0x7265646f7562 // "redoub"
	lockFindings = 0x7265646f7563
)

// Open connects to the database at url (postgres://user@host:port/db?...), migrates its
// schema, and returns the store. A schema written by a newer Redoubt is store.ErrSchemaTooNew
// and is not touched.
func Open(ctx context.Context, dbURL string) (*sqlstore.DB, error) {
	where := redact(dbURL)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("store postgres %s: %w", where, err)
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "redoubt"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store postgres %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store postgres %s: %w", where, err)
	}
	c := &conn{pool: pool}
	d := sqlstore.Dialect{
		Name:       "postgres",
		Where:      where,
		LockWrites: fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, lockFindings),
		SkipLocked: ` FOR UPDATE SKIP LOCKED`,
	}
	if err := sqlstore.Migrate(ctx, c, d, migrations, fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, lockMigrate)); err != nil {
		pool.Close()
		return nil, err
	}
	return sqlstore.New(c, d), nil
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// redact drops the password from a URL for errors and logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}

// conn adapts a pgx pool to sqlstore.Conn.
type conn struct{ pool *pgxpool.Pool }

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func exec(ctx context.Context, q querier, sql string, args ...any) (int64, error) {
	tag, err := q.Exec(ctx, sqlstore.Rebind(sql), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func query(ctx context.Context, q querier, sql string, args ...any) (sqlstore.Rows, error) {
	r, err := q.Query(ctx, sqlstore.Rebind(sql), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (c *conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return exec(ctx, c.pool, q, args...)
}

func (c *conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return query(ctx, c.pool, q, args...)
}

func (c *conn) Begin(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &txn{tx: tx}, nil
}

func (c *conn) Close() error {
	c.pool.Close()
	return nil
}

type txn struct{ tx pgx.Tx }

func (t *txn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return exec(ctx, t.tx, q, args...)
}

func (t *txn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return query(ctx, t.tx, q, args...)
}

// CopyFrom loads rows with COPY; see sqlstore.Copier.
func (t *txn) CopyFrom(ctx context.Context, table string, cols []string, rows [][]any) error {
	n, err := t.tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
	if err == nil && int(n) != len(rows) {
		err = fmt.Errorf("copy into %s: %d of %d rows written", table, n, len(rows))
	}
	return err
}

func (t *txn) Commit(ctx context.Context) error { return t.tx.Commit(ctx) }

func (t *txn) Rollback(ctx context.Context) error {
	if err := t.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return nil
}
