package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"redoubt.dev/redoubt/internal/estate"
)

// BenchmarkScanEstate10k scans a generated estate of 10,000 workloads, each with a Service and a
// NetworkPolicy (about 32,000 objects in 100 namespaces), from manifests, through the whole CLI
// path: load, every analyzer, exceptions, JSON report. Target: under 3 s and 1 GB RSS.
//
//	go test ./cmd/redoubt -run XXX -bench ScanEstate10k -benchtime 3x
func BenchmarkScanEstate10k(b *testing.B) {
	dir := b.TempDir()
	if _, err := estate.Write(dir, estate.Options{Workloads: 10000, Namespaces: 100, FilesPerNamespace: 4}); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "report.json")
	b.ResetTimer()
	for b.Loop() {
		code := run(context.Background(), []string{"scan", dir, "--format", "json", "-o", out}, strings.NewReader(""), io.Discard, os.Stderr)
		if code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.StopTimer()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	}
	if info, err := os.Stat(out); err == nil {
		b.ReportMetric(float64(info.Size())/(1<<20), "report-MB")
	}
}
