package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlstore"
)

// TestMigrateKeepsData: a file written by the first schema version is migrated at Open to the
// current one, and what it held is still there.
func TestMigrateKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{db: db}
	d := sqlstore.Dialect{Name: "sqlite", Where: path, SerializeWrites: true}
	if err := sqlstore.Migrate(ctx, c, d, migrations[:1], ""); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f := finding.Finding{Check: "privileged-container", Phase: finding.PhaseDeploy, Severity: finding.Critical,
		Message: "privileged", Resource: finding.Resource{Namespace: "a", Kind: "Deployment", Name: "b"}}
	// What a version 1 binary wrote (this binary's code expects the tables of every version).
	data, _ := json.Marshal(&f)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO scans (id, scope, started, finished, findings, new, reopened, resolved, note) VALUES (1, 'cluster', ?, ?, 1, 1, 0, 0, 'written by schema 1')`, []any{at.UnixNano(), at.UnixNano()}},
		{`INSERT INTO findings (id, scope, state, suppressed, supp, phase, severity, check_id, namespace, kind, name, digest, search, first_seen, last_seen, resolved_at, hash, data) VALUES (?, 'cluster', 'open', 0, '', 'deploy', 4, 'privileged-container', 'a', 'Deployment', 'b', '', 'privileged', ?, ?, NULL, 'h', ?)`,
			[]any{store.Fingerprint(&f), at.UnixNano(), at.UnixNano(), string(data)}},
		{`INSERT INTO scopes (scope, last_audit, last_scan) VALUES ('cluster', ?, 1)`, []any{at.UnixNano()}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a version 1 file: %v", err)
	}
	defer s.Close()
	var v int
	rows, err := s.Conn().Query(ctx, `SELECT version FROM redoubt_schema`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	if v != SchemaVersion() || v < 3 {
		t.Errorf("schema version %d after Open, want %d", v, SchemaVersion())
	}
	r, err := s.Finding(ctx, store.Fingerprint(&f))
	if err != nil || !r.FirstSeen.Equal(at) {
		t.Errorf("the finding written under schema 1: %+v, %v", r, err)
	}
	if _, err := s.ClaimNotifications(ctx, "none", "me", at, time.Minute, 1); err != nil {
		t.Errorf("a table of schema 3: %v", err)
	}
}
