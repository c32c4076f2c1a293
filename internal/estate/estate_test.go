package estate

import (
	"context"
	"testing"

	"redoubt.dev/redoubt/internal/inventory/manifest"
)

// The generated estate must load without a single input problem, or a benchmark on it would
// measure error handling instead of scanning.
func TestEstateLoadsCleanly(t *testing.T) {
	dir := t.TempDir()
	n, err := Write(dir, Options{Workloads: 70, Namespaces: 3, FilesPerNamespace: 2})
	if err != nil {
		t.Fatal(err)
	}
	s, err := manifest.Load(context.Background(), []string{dir}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		t.Errorf("generated estate has a problem: %v", p)
	}
	if len(s.Workloads) != 70 || len(s.Services) != 70 || len(s.NetworkPolicies) != 73 || len(s.Namespaces) != 3 {
		t.Errorf("loaded %d workloads, %d services, %d policies, %d namespaces from %d objects",
			len(s.Workloads), len(s.Services), len(s.NetworkPolicies), len(s.Namespaces), n)
	}
	kinds := map[string]int{}
	for _, w := range s.Workloads {
		kinds[w.Kind]++
		if len(w.Services) != 1 {
			t.Errorf("%s is selected by %d services", w.Key(), len(w.Services))
		}
	}
	if len(kinds) != 5 {
		t.Errorf("workload kinds: %v", kinds)
	}
}
