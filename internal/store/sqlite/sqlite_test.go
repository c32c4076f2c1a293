package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
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
