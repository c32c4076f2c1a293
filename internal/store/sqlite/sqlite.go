// Package sqlite is the embedded store engine: one SQLite file (modernc.org/sqlite, pure Go) in
// WAL mode, so the API reads while the audit loop writes. It is the default of `redoubt serve`,
// for one replica; several replicas share PostgreSQL instead (package postgres).
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the embedded database engine

	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlstore"
)

// FileName is the store's file name under --data-dir.
const FileName = "redoubt.db"

// Open opens (creating it if needed) the store file at path and migrates its schema. A file
// written by a newer Redoubt is store.ErrSchemaTooNew and is not touched.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// The store holds a cluster's weaknesses: readable by its owner only. SQLite gives the -wal
	// and -shm files the database file's permissions.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	f.Close()
	// WAL: readers never wait for the writer. synchronous=NORMAL: in WAL mode a commit is
	// durable against a crash of the process (kill -9), and only the last commits can be lost
	// to a power cut; the audit that wrote them is re-run at start anyway. IMMEDIATE
	// transactions take the write lock at BEGIN, so two writers never deadlock upgrading a read.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "cache_size(-32768)")
	q.Add("_pragma", "temp_store(memory)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	conn := &conn{db: db}
	d := sqlstore.Dialect{Name: "sqlite", Where: abs, SerializeWrites: true}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := sqlstore.Migrate(ctx, conn, d, migrations, ""); err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(conn, d), nil
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

var _ store.Store = (*sqlstore.DB)(nil)

// conn adapts database/sql to sqlstore.Conn.
type conn struct{ db *sql.DB }

type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }

func (c *conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c *conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	r, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (c *conn) Begin(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &txn{tx: tx}, nil
}

func (c *conn) Close() error { return c.db.Close() }

type txn struct{ tx *sql.Tx }

func (t *txn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *txn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	r, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (t *txn) Commit(context.Context) error   { return t.tx.Commit() }
func (t *txn) Rollback(context.Context) error { return t.tx.Rollback() }
