package notify

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// BenchmarkDeliver1000 measures delivering 1,000 new findings (an audit of a large cluster's
// first run) from a real SQLite outbox to a loopback webhook in digests of 100: the time from
// Wake to the last delivery, and notifications/s.
func BenchmarkDeliver1000(b *testing.B) {
	s, err := openStoreB(b)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	k := newSinkB(b)
	d, err := NewDispatcher(b.Context(), s, []Receiver{NewWebhook(store.Receiver{Name: "ops", MinSeverity: finding.High}, k.srv.URL, "", 10*time.Second)},
		Options{Owner: "bench", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	stop := startB(b, d)
	defer stop()
	delivered := 0
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		fs := many(1000, finding.High)
		for j := range fs {
			fs[j].Check = fmt.Sprintf("check-%d", i)
		}
		now := time.Now()
		if _, err := s.RecordScan(b.Context(), store.ScopeCluster, now, now, fs, ""); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		d.Wake()
		delivered += 1000
		for k.count()*100 < delivered {
			time.Sleep(time.Millisecond)
		}
		total += time.Since(t0)
	}
	b.ReportMetric(float64(delivered)/total.Seconds(), "notifications/s")
}
