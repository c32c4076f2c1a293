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
// many times longer each takes than Redoubt's cold inventory. Peers are built outside the
// repository and named by environment variables; a peer that is not given is not measured:
//
//	REDOUBT_BENCH_SYFT=/path/to/syft REDOUBT_BENCH_TRIVY=/path/to/trivy \
//	  go test ./internal/image -run XXX -bench Peers -benchtime 3x
func BenchmarkPeers(b *testing.B) {
	archive, _ := benchArchive(b)
	peers := map[string]func(dir string) *exec.Cmd{}
	if syft := os.Getenv("REDOUBT_BENCH_SYFT"); syft != "" {
		peers["syft"] = func(dir string) *exec.Cmd {
			c := exec.Command(syft, "scan", "docker-archive:"+archive, "-o", "syft-json="+filepath.Join(dir, "out.json"), "-q")
			c.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false", "SYFT_CACHE_DIR="+dir)
			return c
		}
	}
	if trivy := os.Getenv("REDOUBT_BENCH_TRIVY"); trivy != "" {
		peers["trivy-sbom"] = func(dir string) *exec.Cmd {
			return exec.Command(trivy, "image", "--input", archive, "--format", "cyclonedx", "--output", filepath.Join(dir, "out.json"),
				"--cache-dir", dir, "--skip-db-update", "--skip-java-db-update", "--offline-scan", "--quiet", "--disable-telemetry")
		}
	}
	var ours, theirs = map[string]time.Duration{}, map[string]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		scanArchive(b, archive, nil)
		ours["redoubt"] += time.Since(start)
		for name, cmd := range peers {
			c := cmd(b.TempDir())
			start := time.Now()
			if out, err := c.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", name, err, out)
			}
			theirs[name] += time.Since(start)
		}
	}
	for name, d := range theirs {
		b.ReportMetric(float64(d)/float64(ours["redoubt"]), fmt.Sprintf("%s/redoubt", name))
	}
}
