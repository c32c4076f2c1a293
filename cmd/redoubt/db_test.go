package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/vuln"
)

// execRedoubt runs the command line in-process as main does, and returns what a user sees.
func execRedoubt(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code = exitOK
	if err != nil {
		code = exitInput
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errb.WriteString("redoubt: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

// ghsaMirror lays the repository's three real GHSA records out as an osv.dev bucket.
func ghsaMirror(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("../../internal/vuln/testdata/ghsa/*.json")
	if len(files) != 3 {
		t.Fatal("GHSA test records missing")
	}
	if err := os.MkdirAll(filepath.Join(dir, "npm"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(filepath.Join(dir, "npm", "all.zip"))
	zw := zip.NewWriter(f)
	for _, p := range files {
		b, _ := os.ReadFile(p)
		w, _ := zw.Create(filepath.Base(p))
		w.Write(b)
	}
	zw.Close()
	f.Close()
	return dir
}

func TestDBCommands(t *testing.T) {
	t.Setenv("REDOUBT_DB_DIR", filepath.Join(t.TempDir(), "db"))
	_, stderr, code := execRedoubt(t, "db", "status")
	if code != exitInput || !strings.Contains(stderr, "redoubt db update") || !strings.Contains(stderr, "redoubt db import FILE") {
		t.Fatalf("status without a database: exit %d, %q", code, stderr)
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(ghsaMirror(t))))
	defer srv.Close()
	// PyPI is missing from this mirror: npm is installed, PyPI reported, exit 2.
	out, stderr, code := execRedoubt(t, "db", "update", "--mirror", srv.URL, "--ecosystem", "npm", "--ecosystem", "PyPI")
	if code != exitInput || !strings.Contains(out, "3 vulnerabilities in 1 ecosystems from 1 sources") || !strings.Contains(stderr, "PyPI") {
		t.Fatalf("update: exit %d\n%s\n%s", code, out, stderr)
	}
	out, _, code = execRedoubt(t, "db", "update", "--mirror", srv.URL, "--ecosystem", "npm")
	if code != exitOK || !strings.Contains(out, "is up to date") {
		t.Fatalf("second update of an unchanged mirror: exit %d %s", code, out)
	}

	out, _, code = execRedoubt(t, "db", "status")
	if code != exitOK || !strings.Contains(out, "npm     3") || !strings.Contains(out, srv.URL+"/npm/all.zip") {
		t.Errorf("status:\n%s", out)
	}
	out, _, _ = execRedoubt(t, "db", "status", "--format", "json")
	var s vuln.Status
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Ecosystems["npm"] != 3 || s.Sources[0].Records != 3 {
		t.Errorf("status json: %v %+v", err, s)
	}

	bundle := filepath.Join(t.TempDir(), "osv.tar")
	if _, stderr, code := execRedoubt(t, "db", "export", bundle); code != exitOK {
		t.Fatalf("export: %s", stderr)
	}
	other := filepath.Join(t.TempDir(), "other")
	out, stderr, code = execRedoubt(t, "db", "import", "--db-dir", other, bundle)
	if code != exitOK || !strings.Contains(out, "3 vulnerabilities") {
		t.Fatalf("import: exit %d %s %s", code, out, stderr)
	}
	out, _, _ = execRedoubt(t, "db", "status", "--db-dir", other)
	if !strings.Contains(out, srv.URL+"/npm/all.zip") {
		t.Errorf("the imported bundle lost its origin:\n%s", out)
	}
	if _, stderr, code := execRedoubt(t, "db", "import", "--db-dir", other, filepath.Join(t.TempDir(), "nothing.tar")); code != exitInput || !strings.Contains(stderr, "nothing.tar") {
		t.Errorf("import of a missing file: exit %d %s", code, stderr)
	}
}

// TestOpenVulnDBForScans: what a scan says about the database: nothing when it is fresh, a
// warning with the way out when it is older than database.maxAge, and exactly how to get one
// when there is none.
func TestOpenVulnDBForScans(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	if _, _, err := openVulnDB(dir, 7*24*time.Hour); err == nil || !strings.Contains(err.Error(), "redoubt db update") || !strings.Contains(err.Error(), "redoubt db import FILE") {
		t.Fatalf("no database: %v", err)
	}
	mirror := ghsaMirror(t)
	old := time.Now().Add(-30 * 24 * time.Hour)
	os.Chtimes(filepath.Join(mirror, "npm", "all.zip"), old, old)
	if _, _, code := execRedoubt(t, "db", "import", "--db-dir", dir, mirror); code != exitOK {
		t.Fatal("import failed")
	}
	d, warning, err := openVulnDB(dir, 7*24*time.Hour)
	if err != nil || !strings.Contains(warning, "30 days old") || !strings.Contains(warning, "redoubt db update") {
		t.Errorf("stale database: %q %v", warning, err)
	}
	d.Close()
	d, warning, err = openVulnDB(dir, 60*24*time.Hour)
	if err != nil || warning != "" {
		t.Errorf("fresh enough: %q %v", warning, err)
	}
	d.Close()
}
