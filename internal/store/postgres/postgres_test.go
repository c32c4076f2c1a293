package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/postgres"
	"redoubt.dev/redoubt/internal/store/storetest"
	"redoubt.dev/redoubt/internal/testenv/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(storetest.CrashEnv) != "" {
		storetest.CrashChild(func(ctx context.Context, url string) (store.Store, error) { return postgres.Open(ctx, url) })
	}
	os.Exit(pgtest.Main(m))
}

// TestKill9: a replica killed with SIGKILL in the middle of an audit loses no committed audit
// and leaves no half-written one (the server rolls the dead session's transaction back).
func TestKill9(t *testing.T) {
	u := pgtest.Database(t)
	storetest.CrashTest(t, u, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// BenchmarkRecordScan: the first audit of 30,000 findings and a re-audit with one change.
func BenchmarkRecordScan(b *testing.B) {
	storetest.BenchRecordScan(b, 30000, func(b *testing.B) store.Store {
		s, err := postgres.Open(b.Context(), pgtest.Database(b))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func open(t *testing.T) store.Store {
	s, err := postgres.Open(t.Context(), pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

// TestSchemaTooNew: a database migrated by a newer Redoubt is refused, named, and untouched.
func TestSchemaTooNew(t *testing.T) {
	u := pgtest.Database(t)
	s, err := postgres.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conn().Exec(t.Context(), `UPDATE redoubt_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = postgres.Open(t.Context(), u)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{"127.0.0.1", "version 99", fmt.Sprintf("up to %d", postgres.SchemaVersion())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestReplicasMigrateTogether: several replicas opening one new database at once migrate it
// once (the advisory lock) and all start.
func TestReplicasMigrateTogether(t *testing.T) {
	u := pgtest.Database(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(t.Context(), u)
			if err == nil {
				_, err = s.RecordScan(t.Context(), store.ScopeCluster, time.Now(), time.Now(), nil, "")
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkImages: one pass over 1,000 stored image inventories.
func BenchmarkImages(b *testing.B) {
	storetest.BenchImages(b, 1000, func(b *testing.B) store.Store {
		s, err := postgres.Open(b.Context(), pgtest.Database(b))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
