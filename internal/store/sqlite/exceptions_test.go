package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
)

// TestExceptionsRoundTrip: an exception added through the API comes back whole after the store
// is reopened, expiry included (the policy model's JSON leaves it out), oldest first.
func TestExceptionsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	first, err := s.AddException(t.Context(), store.StoredException{CreatedBy: "alice", CreatedAt: at, Exception: finding.Exception{
		Checks: []string{"privileged-container"}, Resources: []finding.Selector{{Namespace: "web", Name: "api"}},
		Reason: "host network until the migration", Owner: "team-web", Expires: expires}})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" {
		t.Fatal("AddException returned no ID")
	}
	if _, err := s.AddException(t.Context(), store.StoredException{CreatedBy: "bob", CreatedAt: at.Add(time.Minute), Exception: finding.Exception{
		Vulnerabilities: []string{"CVE-2024-0001"}, Reason: "not reachable", Owner: "team-db"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddException(t.Context(), store.StoredException{Exception: finding.Exception{Reason: "everything", Owner: "x"}}); err == nil {
		t.Error("an exception that matches every finding was stored")
	}
	s.Close()

	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Exceptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d exceptions, want 2", len(got))
	}
	e := got[0]
	if e.ID != first.ID || e.CreatedBy != "alice" || !e.CreatedAt.Equal(at) || !e.Exception.Expires.Equal(expires) ||
		e.Exception.Owner != "team-web" || e.Exception.Source != "api" || len(e.Exception.Resources) != 1 || e.Exception.Resources[0].Namespace != "web" {
		t.Errorf("first exception = %+v", e)
	}
	if !got[1].Exception.Expires.IsZero() || got[1].CreatedBy != "bob" {
		t.Errorf("second exception = %+v", got[1])
	}
}
