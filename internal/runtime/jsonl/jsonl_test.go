package jsonl

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestEachBoundsLinesAndReadsGzip(t *testing.T) {
	input := "{\"a\":1}\n" + "{" + strings.Repeat("x", MaxLineBytes+10) + "}\n\n" + "bad\n" + "{\"b\":2}"
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(input))
	w.Close()
	for name, src := range map[string][]byte{"plain": []byte(input), "gzip": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			var r Reader
			var lines []int
			err := r.Each(context.Background(), "f", bytes.NewReader(src), func(l []byte, n int) error {
				if l[0] != '{' {
					return errors.New("not an object")
				}
				lines = append(lines, n)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 2 || lines[0] != 1 || lines[1] != 5 {
				t.Errorf("good lines %v, want [1 5]", lines)
			}
			p := r.Problems()
			if len(p) != 2 || p[0].Line != 2 || !strings.Contains(p[0].Message, "longer than") || p[1].Line != 4 {
				t.Errorf("problems %v", p)
			}
		})
	}
}
