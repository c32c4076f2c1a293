package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"redoubt.dev/redoubt/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestDatabasesAreSeparate: each test gets its own empty database on the shared server, and
// the server runs as an unprivileged user.
func TestDatabasesAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.Database(t), pgtest.Database(t)
	if a == b {
		t.Fatalf("two tests got one database: %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("database b sees a's table: %d, %v", n, err)
	}
	var fsync string
	if err := cb.QueryRow(ctx, `SHOW fsync`).Scan(&fsync); err != nil || fsync != "off" {
		t.Errorf("fsync = %q, %v; the test server runs with fsync=off", fsync, err)
	}
}

// TestStartStop: a server of its own starts, answers, and leaves nothing behind when stopped.
func TestStartStop(t *testing.T) {
	if _, err := pgtest.BinDir(); err != nil && os.Getenv(pgtest.RequireEnv) != "1" {
		t.Skip(err)
	}
	s, err := pgtest.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateDatabase(context.Background(), "own")
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	c, err := pgx.Connect(context.Background(), u)
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	c.Close(context.Background())
	dir := s.Dir()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind after Stop: %v", dir, err)
	}
	if _, err := pgx.Connect(context.Background(), u); err == nil {
		t.Error("the server still answers after Stop")
	}
}
