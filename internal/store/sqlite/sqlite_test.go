package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/store/sqlstore"
	"redoubt.dev/redoubt/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

func TestMain(m *testing.M) {
	if os.Getenv(storetest.CrashEnv) != "" {
		storetest.CrashChild(func(ctx context.Context, path string) (store.Store, error) { return sqlite.Open(ctx, path) })
	}
	os.Exit(m.Run())
}

// TestKill9: a writer killed with SIGKILL in the middle of an audit loses no committed audit
// and leaves no half-written one, and the file passes SQLite's integrity check.
func TestKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	storetest.CrashTest(t, path, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		var ok string
		if err := sqlstoreQueryRow(t, s, &ok, `PRAGMA integrity_check`); err != nil || ok != "ok" {
			t.Errorf("integrity check: %q, %v", ok, err)
		}
		return s
	})
}

// TestSchemaTooNew: a file migrated by a newer Redoubt is refused with both versions and the
// path named, and is left as it was (no downgrade).
func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conn().Exec(t.Context(), `UPDATE redoubt_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlite.Open(t.Context(), path)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{path, "version 99", fmt.Sprintf("up to %d", sqlite.SchemaVersion())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Reopening again still refuses: nothing was rewritten.
	if _, err := sqlite.Open(t.Context(), path); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("second Open: %v", err)
	}
}

// TestReopen: what one process stored, the next reads, and migrations do not run twice.
func TestReopen(t *testing.T) {
	now := time.Now()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordScan(t.Context(), store.ScopeCluster, now, now, nil, "empty"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if scans, err := s.Scans(t.Context(), "", 10); err != nil || len(scans) != 1 || scans[0].Note != "empty" {
		t.Errorf("after reopening: %+v, %v", scans, err)
	}
}

func sqlstoreQueryRow(t *testing.T, s *sqlstore.DB, dest any, q string) error {
	rows, err := s.Conn().Query(t.Context(), q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		return rows.Err()
	}
	return rows.Scan(dest)
}

// BenchmarkRecordScan: the first audit of 30,000 findings and a re-audit with one change.
func BenchmarkRecordScan(b *testing.B) {
	storetest.BenchRecordScan(b, 30000, func(b *testing.B) store.Store {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), sqlite.FileName))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// BenchmarkImages: one pass over 1,000 stored image inventories.
func BenchmarkImages(b *testing.B) {
	storetest.BenchImages(b, 1000, func(b *testing.B) store.Store {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), sqlite.FileName))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// TestFileIsPrivate: the store file, which lists the cluster's weaknesses, is its owner's only.
func TestFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", sqlite.FileName)
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, perm)
	}
}

// TestOpenErrors: a path that is not a store is an error naming it, and is not overwritten.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "notes.txt")
	content := strings.Repeat("these are not the droids you are looking for\n", 200)
	if err := os.WriteFile(garbage, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"a directory": dir, "not a database": garbage} {
		s, err := sqlite.Open(t.Context(), path)
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name %s", name, err, path)
		}
	}
	if b, _ := os.ReadFile(garbage); string(b) != content {
		t.Error("the file that is not a database was changed")
	}
}
