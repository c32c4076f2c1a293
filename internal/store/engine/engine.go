// Package engine opens the store `redoubt serve` was configured with: PostgreSQL when a
// database URL is given, else the SQLite file under the data directory.
package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/postgres"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/store/sqlstore"
)

// The opened store implements every store interface.
var (
	_ store.Store          = (*sqlstore.DB)(nil)
	_ store.Queue          = (*sqlstore.DB)(nil)
	_ store.Outbox         = (*sqlstore.DB)(nil)
	_ store.ExceptionStore = (*sqlstore.DB)(nil)
)

// Open opens (creating and migrating as needed) PostgreSQL at databaseURL when it is set
// (postgres:// or postgresql://), else dataDir/redoubt.db.
func Open(ctx context.Context, dataDir, databaseURL string) (*sqlstore.DB, error) {
	switch {
	case databaseURL != "":
		if !strings.HasPrefix(databaseURL, "postgres://") && !strings.HasPrefix(databaseURL, "postgresql://") {
			return nil, errors.New("--database-url: want postgres://user@host:port/database (PostgreSQL is the only server database)")
		}
		return postgres.Open(ctx, databaseURL)
	case dataDir != "":
		return sqlite.Open(ctx, filepath.Join(dataDir, sqlite.FileName))
	}
	return nil, errors.New("a store needs --data-dir (SQLite) or --database-url (PostgreSQL)")
}
