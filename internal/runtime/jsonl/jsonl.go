// Package jsonl reads JSON-lines exports of runtime agents (Falco, Tetragon): one JSON object per
// line, plain or gzip-compressed (detected by the first bytes), from a file or standard input.
// The input is untrusted: lines are bounded (MaxLineBytes), a bad line is a problem with its
// file and line number and reading goes on, and problems kept are capped.
package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	"redoubt.dev/redoubt/internal/inventory"
)

// Limits on untrusted input.
const (
	MaxLineBytes = 1 << 20
	MaxProblems  = 100
)

// Reader reads lines and records problems.
type Reader struct {
	Lines    int64
	problems []inventory.Problem
	dropped  int64
}

// Problem records a bad line (or input) of file at line.
func (r *Reader) Problem(file string, line int, format string, args ...any) {
	if len(r.problems) >= MaxProblems {
		r.dropped++
		return
	}
	r.problems = append(r.problems, inventory.Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// Problems returns the problems, and past MaxProblems one saying how many more there were.
func (r *Reader) Problems() []inventory.Problem {
	out := append([]inventory.Problem(nil), r.problems...)
	if r.dropped > 0 {
		out = append(out, inventory.Problem{Message: fmt.Sprintf("%d more bad lines not listed", r.dropped)})
	}
	return out
}

// Open opens a path, or standard input for "-".
func Open(path string, stdin io.Reader) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Each calls fn with every non-empty line of src (named name in problems) and its number. A line
// longer than MaxLineBytes is a problem and is skipped; fn's error for a line is a problem for
// that line. The slice passed to fn is only valid during the call.
func (r *Reader) Each(ctx context.Context, name string, src io.Reader, fn func(line []byte, n int) error) error {
	br := bufio.NewReaderSize(src, 64<<10)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: gzip: %w", name, err)
		}
		defer zr.Close()
		in = zr
	}
	lr := bufio.NewReaderSize(in, MaxLineBytes)
	n := 0
	for {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			n++
			r.Lines++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = lr.ReadSlice('\n')
			}
			r.Problem(name, n, "line is longer than %d bytes: skipped", MaxLineBytes)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		if len(line) > 0 {
			n++
			r.Lines++
			if t := bytes.TrimSpace(line); len(t) > 0 {
				if ferr := fn(t, n); ferr != nil {
					r.Problem(name, n, "%v", ferr)
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}
