package bench

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/estate"
)

var writeEstate = flag.String("write-estate", "", "write the benchmark estate as YAML into this directory and stop")

func TestWriteEstate(t *testing.T) {
	if *writeEstate == "" {
		t.Skip("give -write-estate DIR to write the benchmark estate")
	}
	if err := estate.NewBench(estate.DefaultBench).WriteYAML(*writeEstate); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkList measures the full `netpol list` on the estate: read the YAML, analyse,
// list every connection.
func BenchmarkList(b *testing.B) {
	dir := b.TempDir()
	if err := estate.NewBench(estate.DefaultBench).WriteYAML(dir); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := manifest.Load(context.Background(), []string{dir}, manifest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		a := netpol.Analyze(s, netpol.Options{})
		cs := a.Connections()
		b.ReportMetric(float64(len(cs)), "connections")
	}
	_ = filepath.Join
	_ = os.Getpid
}
