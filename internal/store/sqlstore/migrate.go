package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/store"
)

// Migrate brings the schema of the database up to len(migrations): migrations[i] takes it from
// version i to i+1. Each runs in the same transaction as the version it records, so a crash
// mid-migration leaves the previous version whole. A database whose version is higher than this
// binary knows is store.ErrSchemaTooNew, and is left untouched: a downgrade would silently drop
// what the newer Redoubt keeps. lock, when set, runs first (PostgreSQL: an advisory lock, so two
// replicas starting together do not migrate at once).
func Migrate(ctx context.Context, conn Conn, d Dialect, migrations []string, lock string) (err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store %s %s: %w", d.Name, d.Where, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if lock != "" {
		if _, err := tx.Exec(ctx, lock); err != nil {
			return fmt.Errorf("store %s %s: lock for migration: %w", d.Name, d.Where, err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS redoubt_schema (version BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store %s %s: %w", d.Name, d.Where, err)
	}
	var version int64
	err = queryRow(ctx, tx, []any{&version}, `SELECT version FROM redoubt_schema`)
	switch {
	case err == store.ErrNotFound:
		if _, err := tx.Exec(ctx, `INSERT INTO redoubt_schema (version) VALUES (0)`); err != nil {
			return fmt.Errorf("store %s %s: %w", d.Name, d.Where, err)
		}
	case err != nil:
		return fmt.Errorf("store %s %s: read schema version: %w", d.Name, d.Where, err)
	}
	known := int64(len(migrations))
	if version > known {
		return fmt.Errorf("store %s %s: %w: its schema is version %d, this Redoubt knows versions up to %d; run a newer Redoubt (the database is left as it is)",
			d.Name, d.Where, store.ErrSchemaTooNew, version, known)
	}
	for v := version; v < known; v++ {
		for _, stmt := range splitStatements(migrations[v]) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("store %s %s: migrate schema to version %d: %w", d.Name, d.Where, v+1, err)
			}
		}
	}
	if version < known {
		if _, err := tx.Exec(ctx, `UPDATE redoubt_schema SET version = ?`, known); err != nil {
			return fmt.Errorf("store %s %s: %w", d.Name, d.Where, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store %s %s: commit migration: %w", d.Name, d.Where, err)
	}
	return nil
}

// splitStatements splits a migration at semicolons that end a line; migrations hold no
// semicolons inside literals.
func splitStatements(sql string) []string {
	var out []string
	for _, s := range strings.Split(sql, ";\n") {
		if s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";")); s != "" {
			out = append(out, s)
		}
	}
	return out
}
