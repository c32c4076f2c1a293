package manifest

import (
	"testing"

	"redoubt.dev/redoubt/internal/inventory"
)

// FuzzParseStream feeds arbitrary bytes to the manifest parser: it must never panic, never loop,
// and every problem it reports must point inside the input.
func FuzzParseStream(f *testing.F) {
	f.Add([]byte(deployment))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n"))
	f.Add([]byte("apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p}\n  spec: {containers: [{name: c, image: x}]}\n- {kind: Service, metadata: {name: s}}\n"))
	f.Add([]byte(`{"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [{"metadata": {"name": "d"}}, 3]}`))
	f.Add([]byte("a: &a [x, x]\nb: [*a, *a]\n---\n--- {kind: Pod}\n...\n"))
	f.Add([]byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}`))
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n"))
	f.Add([]byte("<<: {apiVersion: v1}\nkind: Secret\nmetadata: {name: s}\nstringData: {a: !!binary aGk=}\n"))
	lim := Limits{MaxFileBytes: 1 << 20, MaxDepth: 50, MaxNodes: 20000}
	f.Fuzz(func(t *testing.T, data []byte) {
		// YAML breaks lines at \n, \r and \r\n.
		lines := 1
		for i, c := range data {
			if c == '\n' || (c == '\r' && (i+1 == len(data) || data[i+1] != '\n')) {
				lines++
			}
		}
		out := parseStream(data, inventory.Origin{File: "fuzz.yaml"}, lim)
		b := inventory.NewBuilder(inventory.Source{Kind: inventory.SourceManifests}, "")
		for _, d := range out {
			if d.problem != nil && (d.problem.Line < 0 || d.problem.Line > lines+1) {
				t.Fatalf("problem at line %d of a %d-line input: %v", d.problem.Line, lines, d.problem)
			}
			if d.typed != nil {
				b.Add(d.typed, d.origin, d.lines)
			}
		}
		b.Snapshot()
	})
}
