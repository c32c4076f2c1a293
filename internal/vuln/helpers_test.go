package vuln

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// goVulnDBVersion is the golang.org/x/vulndb module whose data/osv directory (4,789 real OSV
// records of the Go vulnerability database) the tests use, through the Go module proxy.
const goVulnDBVersion = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

var goVulnDB struct {
	once sync.Once
	dir  string
	err  error
}

// goVulnDBFiles returns the paths of the Go vulnerability database's OSV records, downloaded
// into the module cache by the go command.
func goVulnDBFiles(t testing.TB) []string {
	t.Helper()
	goVulnDB.once.Do(func() {
		out, err := exec.Command("go", "mod", "download", "-json", goVulnDBVersion).Output()
		if err != nil {
			goVulnDB.err = err
			if ee, ok := err.(*exec.ExitError); ok {
				goVulnDB.err = &downloadError{err: err, stderr: string(ee.Stderr) + string(out)}
			}
			return
		}
		var info struct{ Dir, Error string }
		if err := json.Unmarshal(out, &info); err != nil {
			goVulnDB.err = err
			return
		}
		goVulnDB.dir = filepath.Join(info.Dir, "data", "osv")
	})
	if goVulnDB.err != nil {
		t.Fatalf("go mod download %s: %v", goVulnDBVersion, goVulnDB.err)
	}
	files, err := filepath.Glob(filepath.Join(goVulnDB.dir, "*.json"))
	if err != nil || len(files) < 4000 {
		t.Fatalf("%s: want the Go vulnerability database's records, found %d (%v)", goVulnDB.dir, len(files), err)
	}
	sort.Strings(files)
	return files
}

type downloadError struct {
	err    error
	stderr string
}

func (e *downloadError) Error() string { return e.err.Error() + ": " + e.stderr }

// ghsaFiles are the three real GHSA records in testdata.
func ghsaFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/ghsa/*.json")
	if err != nil || len(files) != 3 {
		t.Fatalf("testdata/ghsa: %v %d", err, len(files))
	}
	return files
}

// writeExport writes files (OSV JSON paths) as an osv.dev export zip at path.
func writeExport(t testing.TB, path string, files []string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(filepath.Base(p))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeRecords writes records as OSV JSON files in a fresh directory and returns their paths.
func writeRecords(t testing.TB, recs ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for i, r := range recs {
		p := filepath.Join(dir, "r"+string(rune('a'+i))+".json")
		if err := os.WriteFile(p, []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// mirrorDir lays out exports as the osv.dev bucket does: <Ecosystem>/all.zip.
func mirrorDir(t testing.TB, sources map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	for eco, files := range sources {
		writeExport(t, filepath.Join(dir, eco, "all.zip"), files)
	}
	return dir
}

// buildDB imports sources into a fresh database and opens it.
func buildDB(t testing.TB, sources map[string][]string) *DB {
	t.Helper()
	dir := t.TempDir()
	if _, err := Import(context.Background(), dir, mirrorDir(t, sources), UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// debianExport returns the Debian/all.zip written by
// `go run ./internal/vuln/debchangelog/cmd/debian-osv -out DIR` (records derived from real
// changelogs: see package debchangelog), from $REDOUBT_DEBIAN_OSV or the default cache. The CI
// script generates it; without it the Debian cases are skipped with instructions.
func debianExport(t testing.TB) (zipPath, debs string) {
	t.Helper()
	dir := os.Getenv("REDOUBT_DEBIAN_OSV")
	if dir == "" {
		if c, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(c, "redoubt-testdata", "debian-osv")
		}
	}
	p := filepath.Join(dir, "Debian", "all.zip")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no Debian records at %s: generate them with `go run ./internal/vuln/debchangelog/cmd/debian-osv -out %s` (needs apt-get)", p, dir)
	}
	return p, filepath.Join(dir, "debs")
}

// zipFiles unpacks an export's records into a directory and returns their paths.
func zipFiles(t testing.TB, zipPath string) []string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	dir := t.TempDir()
	var out []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(f.Name))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// tarMember reads one member of a tar archive held in memory.
func tarMember(t *testing.T, tarball []byte, name string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the archive: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
