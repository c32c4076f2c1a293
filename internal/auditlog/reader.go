package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"

	"redoubt.dev/redoubt/internal/inventory"
)

// Limits on untrusted input.
const (
	// MaxLineBytes bounds one line (one event). The API server truncates nothing, but a
	// RequestResponse event of a large object rarely passes 1 MiB; longer lines are reported
	// and skipped.
	MaxLineBytes = 4 << 20
	// MaxProblems bounds the problems kept with their line numbers; the rest are counted.
	MaxProblems = 100
	// MaxListItems bounds the events of one EventList.
	MaxListItems = 100_000
)

// Input is one audit log to read: a file, or standard input.
type Input struct {
	// Name is the path, or "-" for standard input; problems name it.
	Name string
	// Open opens the input; the reader closes it.
	Open func() (io.ReadCloser, error)
}

// Stats counts what a Reader read.
type Stats struct {
	Files int   `json:"files"`
	Lines int64 `json:"lines"`
	// Bytes counts the bytes of the lines, after decompression.
	Bytes     int64 `json:"bytes"`
	Events    int64 `json:"events"`
	Malformed int64 `json:"malformed"`
	// Skipped counts valid lines the Filter said no detection needs, not decoded.
	Skipped int64 `json:"skipped"`
}

// Reader streams audit events from inputs, in order. The zero value is not usable; see NewReader.
type Reader struct {
	inputs []Input
	// Workers is how many goroutines decode JSON; zero means GOMAXPROCS.
	Workers int
	// Progress, when set, is called after each input with the counts so far.
	Progress func(input string, s Stats)
	// Filter, when set, says whether a line is worth decoding (Analyzer.Wants). A line it
	// turns down is only checked to look like one JSON object (it starts with { and is not cut
	// short) and counted in Stats.Skipped. The first line of each input is always decoded.
	Filter func(line []byte) bool

	stats    Stats
	problems []inventory.Problem
	dropped  int64
}

// NewReader returns a reader of the inputs, in the order given.
func NewReader(inputs []Input) *Reader {
	return &Reader{inputs: inputs}
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Problems returns the malformed lines and unreadable inputs, each with file and line; past
// MaxProblems, one last problem says how many more there were.
func (r *Reader) Problems() []inventory.Problem {
	out := append([]inventory.Problem(nil), r.problems...)
	if r.dropped > 0 {
		out = append(out, inventory.Problem{Message: fmt.Sprintf("%d more malformed lines not listed", r.dropped)})
	}
	return out
}

func (r *Reader) problem(p inventory.Problem) {
	if len(r.problems) < MaxProblems {
		r.problems = append(r.problems, p)
		return
	}
	r.dropped++
}

// Each calls fn with every event of every input, in order. An input that cannot be opened or
// read is a problem, and reading goes on with the next. Each returns fn's first error, or the
// context's.
func (r *Reader) Each(ctx context.Context, fn func(*Event) error) error {
	for _, in := range r.inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.readInput(ctx, in, fn); err != nil {
			return err
		}
		if r.Progress != nil {
			r.Progress(in.Name, r.stats)
		}
	}
	return nil
}

// errStop carries fn's error out of the pipeline.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

func (r *Reader) readInput(ctx context.Context, in Input, fn func(*Event) error) error {
	rc, err := in.Open()
	if err != nil {
		r.problem(inventory.Problem{File: in.Name, Message: err.Error()})
		return nil
	}
	defer rc.Close()
	r.stats.Files++
	br := bufio.NewReaderSize(rc, 256<<10)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			r.problem(inventory.Problem{File: in.Name, Message: fmt.Sprintf("gzip: %v", err)})
			return nil
		}
		defer zr.Close()
		src = zr
	}
	err = r.decode(ctx, in.Name, src, fn)
	if ctx.Err() != nil {
		// Interrupted: the findings so far do not cover the input.
		return ctx.Err()
	}
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.problem(inventory.Problem{File: in.Name, Line: int(r.stats.Lines), Message: fmt.Sprintf("reading stopped: %v", err)})
	}
	return nil
}

// batch is a run of lines decoded by one worker; results keep the input order.
type batch struct {
	file    string
	first   int // line number of lines[0]
	lines   [][]byte
	events  []*Event
	bad     []inventory.Problem
	skipped int
	done    chan struct{}
}

const batchLines = 256

// decode splits the input into lines and decodes them on Workers goroutines, handing events to
// fn in input order.
func (r *Reader) decode(ctx context.Context, name string, src io.Reader, fn func(*Event) error) error {
	workers := r.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	work := make(chan *batch, workers)
	order := make(chan *batch, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				decodeBatch(b, r.Filter)
				close(b.done)
			}
		})
	}
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(order)
		defer close(work)
		readErr <- r.split(name, src, func(b *batch) bool {
			select {
			case order <- b:
			case <-stop:
				return false
			case <-ctx.Done():
				return false
			}
			work <- b
			return true
		})
	}()
	var fnErr error
	for b := range order {
		<-b.done
		if fnErr != nil {
			continue
		}
		for _, p := range b.bad {
			r.stats.Malformed++
			r.problem(p)
		}
		r.stats.Skipped += int64(b.skipped)
		for _, e := range b.events {
			r.stats.Events++
			if err := fn(e); err != nil {
				fnErr = err
				close(stop)
				break
			}
		}
	}
	wg.Wait()
	err := <-readErr
	if fnErr != nil {
		return errStop{fnErr}
	}
	return err
}

// split reads lines into batches. Lines longer than MaxLineBytes are reported and skipped.
func (r *Reader) split(name string, src io.Reader, emit func(*batch) bool) error {
	br := bufio.NewReaderSize(src, MaxLineBytes)
	line := 0
	newBatch := func() *batch {
		return &batch{file: name, first: line + 1, done: make(chan struct{}), lines: make([][]byte, 0, batchLines)}
	}
	b := newBatch()
	// buf holds copies of the batch's lines: one allocation per batch, not per line.
	buf := make([]byte, 0, 512<<10)
	flush := func() bool {
		if len(b.lines) == 0 && len(b.bad) == 0 {
			return true
		}
		ok := emit(b)
		b = newBatch()
		buf = make([]byte, 0, 512<<10)
		return ok
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line++
			n := int64(len(chunk))
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = br.ReadSlice('\n')
				n += int64(len(chunk))
			}
			r.stats.Lines++
			r.stats.Bytes += n
			// The skipped line still takes its slot, so later lines keep their numbers.
			b.lines = append(b.lines, nil)
			b.bad = append(b.bad, inventory.Problem{File: name, Line: line,
				Message: fmt.Sprintf("line is longer than %d bytes (%d): skipped", MaxLineBytes, n)})
			if err != nil && err != io.EOF {
				return err
			}
			if err == io.EOF {
				break
			}
			continue
		}
		if len(chunk) > 0 {
			line++
			r.stats.Lines++
			r.stats.Bytes += int64(len(chunk))
			if len(buf)+len(chunk) > cap(buf) {
				buf = make([]byte, 0, max(512<<10, len(chunk)))
			}
			start := len(buf)
			buf = append(buf, chunk...)
			b.lines = append(b.lines, buf[start:len(buf):len(buf)])
			if len(b.lines) >= batchLines {
				if !flush() {
					return nil
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			flush()
			return err
		}
	}
	flush()
	return nil
}

var eventListKind = []byte(`"EventList"`)

// decodeBatch decodes each line of a batch into events, recording malformed lines. Lines the
// filter turns down are only validated.
func decodeBatch(b *batch, filter func([]byte) bool) {
	for i, l := range b.lines {
		if l == nil {
			continue // too long, already reported
		}
		n := b.first + i
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		// A line no detection wants is checked by its shape only (an object, not cut short):
		// validating it in full would cost as much as decoding it, for nothing a user sees.
		if filter != nil && n > 1 && l[0] == '{' && l[len(l)-1] == '}' && !filter(l) {
			b.skipped++
			continue
		}
		evs, err := DecodeLine(l)
		if err != nil {
			b.bad = append(b.bad, inventory.Problem{File: b.file, Line: n, Message: err.Error()})
			continue
		}
		for _, e := range evs {
			e.File, e.Line = b.file, n
			b.events = append(b.events, e)
		}
	}
	b.lines = nil
	slices.SortStableFunc(b.bad, func(x, y inventory.Problem) int { return x.Line - y.Line })
}

// DecodeLine decodes one line of an audit log: an Event, or an EventList (as the webhook backend
// posts them, when such a body was saved to a file). It says what is wrong with a line that is
// neither.
func DecodeLine(l []byte) ([]*Event, error) {
	if len(l) == 0 || l[0] != '{' {
		return nil, fmt.Errorf("not a JSON object (an audit log has one audit.k8s.io/v1 Event per line)")
	}
	if len(l) > MaxLineBytes {
		return nil, fmt.Errorf("line is longer than %d bytes", MaxLineBytes)
	}
	if bytes.Contains(l[:min(len(l), 256)], eventListKind) {
		list, err := DecodeEventList(l)
		if err != nil {
			return nil, err
		}
		return list, nil
	}
	e := new(Event)
	if err := json.Unmarshal(l, e); err != nil {
		return nil, fmt.Errorf("not an audit event: %v", err)
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return []*Event{e}, nil
}

// DecodeEventList decodes the body the webhook backend posts (an audit.k8s.io/v1 EventList),
// bounded to MaxListItems events.
func DecodeEventList(data []byte) ([]*Event, error) {
	var list EventList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("not an audit EventList: %v", err)
	}
	if list.Kind != "EventList" {
		return nil, fmt.Errorf("kind %q: want EventList", list.Kind)
	}
	if len(list.Items) > MaxListItems {
		return nil, fmt.Errorf("EventList has %d events: more than %d", len(list.Items), MaxListItems)
	}
	out := make([]*Event, 0, len(list.Items))
	for i := range list.Items {
		if err := list.Items[i].validate(); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out = append(out, &list.Items[i])
	}
	return out, nil
}

func (e *Event) validate() error {
	if e.Kind != "" && e.Kind != "Event" {
		return fmt.Errorf("kind %q is not an audit Event", e.Kind)
	}
	if e.AuditID == "" && e.Verb == "" {
		return fmt.Errorf("not an audit event: no auditID and no verb")
	}
	return nil
}
