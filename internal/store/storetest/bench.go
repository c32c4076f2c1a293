package storetest

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// Estate is n findings shaped like a large cluster audit's: many workloads in a few dozen
// namespaces, every check and severity, with evidence and references.
func Estate(n int) []finding.Finding {
	checks := []string{"privileged-container", "run-as-root", "host-path", "latest-tag", "no-resource-limits", "automount-token", "writable-root-fs"}
	fs := make([]finding.Finding, n)
	for i := range fs {
		fs[i] = mk(checks[i%len(checks)], fmt.Sprintf("team-%02d", i%40), fmt.Sprintf("svc-%05d", i/3), finding.Severity(i%5))
	}
	return fs
}

// BenchRecordScan measures the first audit of n findings into an empty store and a re-audit in
// which one finding changed, the steady state of `serve`.
func BenchRecordScan(b *testing.B, n int, open func(b *testing.B) store.Store) {
	fs := Estate(n)
	b.Run(fmt.Sprintf("first-audit-%d", n), func(b *testing.B) {
		cpu := startCPU()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			s := open(b)
			b.StartTimer()
			if _, err := s.RecordScan(b.Context(), store.ScopeCluster, t0, t0, fs, ""); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "findings/s")
		b.ReportMetric(cpu.since()/float64(b.N), "cpu-ms/op")
	})
	b.Run(fmt.Sprintf("reaudit-1-change-%d", n), func(b *testing.B) {
		s := open(b)
		defer s.Close()
		if _, err := s.RecordScan(b.Context(), store.ScopeCluster, t0, t0, fs, ""); err != nil {
			b.Fatal(err)
		}
		changed := make([]finding.Finding, len(fs))
		copy(changed, fs)
		cpu := startCPU()
		for i := 0; b.Loop(); i++ {
			at := t0.Add(time.Duration(i+1) * time.Minute)
			// One finding's message changes each audit: one resolved, one new.
			changed[0].Message = fmt.Sprintf("changed at audit %d", i)
			ch, err := s.RecordScan(b.Context(), store.ScopeCluster, at, at, changed, "")
			if err != nil {
				b.Fatal(err)
			}
			if len(ch.New) != 1 || (i > 0 && len(ch.Resolved) != 1) {
				b.Fatalf("audit %d: %d new, %d resolved; want 1 and 1", i, len(ch.New), len(ch.Resolved))
			}
		}
		b.ReportMetric(cpu.since()/float64(b.N), "cpu-ms/op")
	})
}

// cpuClock reads the process's CPU time (user and system), a steadier figure than wall time on
// a machine others share; it includes the benchmark's untimed setup.
type cpuClock float64

func cpuMillis() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

func startCPU() cpuClock { return cpuClock(cpuMillis()) }

func (c cpuClock) since() float64 { return cpuMillis() - float64(c) }

// BenchImages measures one pass of Images over n stored inventories (the test application
// image's real report under n digests): the store's share of re-matching every inventory after
// a vulnerability-database change.
func BenchImages(b *testing.B, n int, open func(b *testing.B) store.Store) {
	rep := appReport(b)
	s := open(b)
	defer s.Close()
	for i := range n {
		img := &store.Image{Digest: fmt.Sprintf("sha256:%064x", i), Refs: []string{"example.test/app:1.0"}, Report: rep, ScannedAt: t0, MatchedAt: t0}
		if err := s.PutImage(b.Context(), img); err != nil {
			b.Fatal(err)
		}
	}
	b.Run(fmt.Sprintf("stream-%d", n), func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			seen := 0
			if err := s.Images(b.Context(), func(*store.Image) error { seen++; return nil }); err != nil {
				b.Fatal(err)
			}
			if seen != n {
				b.Fatalf("streamed %d images, want %d", seen, n)
			}
		}
		b.ReportMetric(cpu.since()/float64(b.N), "cpu-ms/op")
	})
}
