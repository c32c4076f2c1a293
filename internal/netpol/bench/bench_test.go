package bench

import (
	"context"
	"flag"
	"math/rand/v2"
	"testing"

	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/estate"
)

var (
	writeEstate = flag.String("write-estate", "", "write the benchmark estate as YAML into this directory and stop")
	randomSeed  = flag.Int("random-seed", -1, "with -write-estate, write a small random estate of NetworkPolicies (no admin policies, no host networking) with this seed instead")
	withPods    = flag.Bool("estate-pods", true, "write the estate's 5,000 pods (and ReplicaSets) as objects, as a live cluster has them; false writes Deployments with replicas only")
)

func TestWriteEstate(t *testing.T) {
	if *writeEstate == "" {
		t.Skip("give -write-estate DIR to write the benchmark estate")
	}
	if *randomSeed >= 0 {
		r := rand.New(rand.NewPCG(uint64(*randomSeed), 99))
		e := estate.NewRandom(r, estate.Random{Namespaces: 3, Workloads: 10, Policies: 10, NoHostNetwork: true, IPv4Only: true})
		if err := e.WriteYAML(*writeEstate); err != nil {
			t.Fatal(err)
		}
		return
	}
	b := estate.DefaultBench
	b.Pods = *withPods
	if err := estate.NewBench(b).WriteYAML(*writeEstate); err != nil {
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
}
