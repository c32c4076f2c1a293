package manifest

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkSyntaxErrorLine measures the cost of placing a syntax error on its own line in a
// large document (a ConfigMap of 20,000 keys, mis-indented at the end): the search parses a
// few prefixes, not one per line.
func BenchmarkSyntaxErrorLine(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n")
	for i := range 20000 {
		fmt.Fprintf(&sb, "  key%d: value%d\n", i, i)
	}
	sb.WriteString(" bad: 1\n  after: x\n")
	body := []byte(sb.String())
	want := 5 + 20000 + 1
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_, _, err := parseDocument(body, 0, DefaultLimits)
		se, ok := err.(*SyntaxError)
		if !ok || se.Line != want {
			b.Fatalf("error %v, want one at line %d", err, want)
		}
	}
}
