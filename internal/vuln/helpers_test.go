package vuln

import (
	"archive/zip"
	"context"
	"encoding/json"
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
