package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/releases"
)

// TestDBUpdateRefreshesTheReleaseCalendar serves a mirror with vulnerability data and a newer
// release calendar, runs `redoubt db update` against it, and checks that scans then judge
// versions with the new calendar: v1.37.2 stops being the newest patch once 1.37.5 is known.
func TestDBUpdateRefreshesTheReleaseCalendar(t *testing.T) {
	t.Setenv("REDOUBT_DB_DIR", filepath.Join(t.TempDir(), "db"))
	const manifests = "../../internal/infra/testdata/hardened"
	outdated := func() bool {
		for _, f := range findingsOf(t, "scan", manifests) {
			if f.Check == "kubernetes-patch-outdated" {
				return true
			}
		}
		return false
	}
	if outdated() {
		t.Fatal("v1.37.2 is outdated by the built-in calendar")
	}

	mirror := ghsaMirror(t)
	embedded, err := os.ReadFile("../../internal/releases/" + releases.FileName)
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(strings.Replace(string(embedded), `"generated": "2026-11-25"`, `"generated": "2026-12-20"`, 1),
		`"latestPatch": "1.37.2", "latestPatchReleased": "2026-10-28"`, `"latestPatch": "1.37.5", "latestPatchReleased": "2026-12-16"`, 1)
	if newer == string(embedded) {
		t.Fatal("the test could not edit the calendar")
	}
	if err := os.WriteFile(filepath.Join(mirror, releases.FileName), []byte(newer), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer srv.Close()
	if out, stderr, code := execRedoubt(t, "db", "update", "--mirror", srv.URL, "--ecosystem", "npm"); code != exitOK {
		t.Fatalf("db update: exit %d: %s %s", code, out, stderr)
	}
	if !outdated() {
		t.Error("after db update, v1.37.2 is not behind the 1.37.5 the new calendar knows")
	}

	// A broken copy is reported, and the built-in calendar takes over.
	extra := filepath.Join(os.Getenv("REDOUBT_DB_DIR"), "extra", releases.FileName)
	if err := os.WriteFile(extra, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := execRedoubt(t, "scan", manifests)
	if code == exitInput || !strings.Contains(stderr, "release calendar") {
		t.Errorf("scan with a broken calendar: exit %d, stderr %q", code, stderr)
	}
}
