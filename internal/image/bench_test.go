package image_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/vuln"
)

// benchArchive writes the benchmark image (see fixture.BenchImage) as a docker archive, the
// form every peer reads.
func benchArchive(b *testing.B) (string, int64) {
	b.Helper()
	img, err := fixture.BenchImage(context.Background())
	fixture.Need(b, err)
	p := filepath.Join(b.TempDir(), "bench.tar")
	if err := tarball.WriteToFile(p, name.MustParseReference("bench.test/debian-mixed:1").(name.Tag), img); err != nil {
		b.Fatal(err)
	}
	layers, _ := img.Layers()
	var size int64
	for _, l := range layers {
		rc, _ := l.Uncompressed()
		n, _ := copyCount(rc)
		rc.Close()
		size += n
	}
	return p, size
}

func copyCount(r interface{ Read([]byte) (int, error) }) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

func scanArchive(b *testing.B, archive string, cache *image.Cache) *image.Report {
	src, err := image.Open(context.Background(), "docker-archive:"+archive, image.SourceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	rep, err := image.Scan(context.Background(), src, image.Options{Cache: cache, TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	return rep
}

// BenchmarkScanCold inventories the ~170 MB benchmark image from a docker archive with no layer
// cache: every layer decompressed and walked.
//
//	go test ./internal/image -run XXX -bench ScanCold -benchtime 5x
func BenchmarkScanCold(b *testing.B) {
	archive, size := benchArchive(b)
	b.SetBytes(size)
	b.ResetTimer()
	var rep *image.Report
	for b.Loop() {
		rep = scanArchive(b, archive, nil)
	}
	b.ReportMetric(float64(len(rep.Packages)), "packages")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	}
}

// BenchmarkScanWarm scans the same image again with every layer in the cache.
func BenchmarkScanWarm(b *testing.B) {
	archive, _ := benchArchive(b)
	cache, err := image.OpenCache(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	scanArchive(b, archive, cache)
	b.ResetTimer()
	for b.Loop() {
		scanArchive(b, archive, cache)
	}
}

// BenchmarkPeers times the peers on the same archive in the same run, cold, and reports how
// many times longer each takes than Redoubt's cold scan (inventory and vulnerability matching
// against the real data of fixture.VulnDB). Peers are built outside the repository and named by
// environment variables; a peer that is not given is not measured:
//
//	REDOUBT_BENCH_SYFT=/path/to/syft            packages only (syft-json)
//	REDOUBT_BENCH_TRIVY=/path/to/trivy          with REDOUBT_BENCH_TRIVY_DB: vulnerabilities,
//	REDOUBT_BENCH_TRIVY_DB=/path/to/cache       from a trivy cache directory holding db/trivy.db
//	                                            made from the same OSV data by tools/trivydb;
//	                                            without it, trivy's SBOM mode
//
//	go test ./internal/image -run XXX -bench Peers -benchtime 5x
//
// Trivy gets a fresh cache directory each run (its layer cache makes repeated scans about ten
// times faster) and skips /usr/share/java, since its jar analyzer needs a Java DB that cannot
// be downloaded here; Redoubt reads the jars.
func BenchmarkPeers(b *testing.B) {
	archive, _ := benchArchive(b)
	cache, err := fixture.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	dbDir, err := fixture.VulnDB(context.Background(), cache)
	fixture.Need(b, err)
	peers := map[string]func(dir string) *exec.Cmd{}
	if syft := os.Getenv("REDOUBT_BENCH_SYFT"); syft != "" {
		peers["syft"] = func(dir string) *exec.Cmd {
			c := exec.Command(syft, "scan", "docker-archive:"+archive, "-o", "syft-json="+filepath.Join(dir, "out.json"), "-q")
			c.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false", "SYFT_CACHE_DIR="+dir)
			return c
		}
	}
	if trivy := os.Getenv("REDOUBT_BENCH_TRIVY"); trivy != "" {
		tdb := os.Getenv("REDOUBT_BENCH_TRIVY_DB")
		peers["trivy"] = func(dir string) *exec.Cmd {
			args := []string{"image", "--input", archive, "--output", filepath.Join(dir, "out.json"), "--cache-dir", dir,
				"--skip-db-update", "--skip-java-db-update", "--offline-scan", "--quiet", "--disable-telemetry",
				"--skip-dirs", "/usr/share/java"}
			if tdb != "" {
				copyDir(b, filepath.Join(tdb, "db"), filepath.Join(dir, "db"))
				args = append(args, "--format", "json", "--scanners", "vuln")
			} else {
				args = append(args, "--format", "cyclonedx")
			}
			return exec.Command(trivy, args...)
		}
	}
	ours, theirs := time.Duration(0), map[string]time.Duration{}
	var vulns int
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rep := scanArchive(b, archive, nil)
		db, err := vuln.Open(dbDir)
		if err != nil {
			b.Fatal(err)
		}
		if err := imagescan.Match(context.Background(), rep, db, imagescan.MatchOptions{}); err != nil {
			b.Fatal(err)
		}
		db.Close()
		ours += time.Since(start)
		vulns = len(rep.Vulnerabilities)
		for name, cmd := range peers {
			b.StopTimer()
			c := cmd(b.TempDir())
			b.StartTimer()
			start := time.Now()
			if out, err := c.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", name, err, out)
			}
			theirs[name] += time.Since(start)
		}
	}
	b.ReportMetric(float64(vulns), "vulnerabilities")
	for name, d := range theirs {
		b.ReportMetric(float64(ours)/float64(d), fmt.Sprintf("redoubt/%s", name))
	}
}

func copyDir(b *testing.B, from, to string) {
	if err := os.MkdirAll(to, 0o755); err != nil {
		b.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArchive scans any docker archive (docker save output) named by REDOUBT_BENCH_ARCHIVE,
// cold, to measure Redoubt on real images:
//
//	REDOUBT_BENCH_ARCHIVE=app.tar go test ./internal/image -run XXX -bench Archive -benchtime 3x
func BenchmarkArchive(b *testing.B) {
	p := os.Getenv("REDOUBT_BENCH_ARCHIVE")
	if p == "" {
		b.Skip("REDOUBT_BENCH_ARCHIVE names no archive")
	}
	for b.Loop() {
		scanArchive(b, p, nil)
	}
}
