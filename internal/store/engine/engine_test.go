package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/store/engine"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := engine.Open(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Errorf("--data-dir: %v", err)
	}
	for _, bad := range []string{"mysql://x/y", "redoubt.db"} {
		if _, err := engine.Open(t.Context(), dir, bad); err == nil || !strings.Contains(err.Error(), "--database-url") {
			t.Errorf("--database-url %s: %v, want an error naming the flag", bad, err)
		}
	}
	if _, err := engine.Open(t.Context(), "", ""); err == nil {
		t.Error("neither flag: no error")
	}
	s, err = engine.Open(t.Context(), dir, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
