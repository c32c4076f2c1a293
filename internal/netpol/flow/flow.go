// Package flow reads observed network flows: Cilium Hubble's JSON export (`hubble observe -o
// json`, one GetFlowsResponse or Flow object per line) and Redoubt's own simple format, in JSON
// (one object per line, or an array) or CSV. Files may be gzip-compressed. Flows are untrusted
// input: every reader bounds file size, decompressed size, line length and flow count, records
// a problem for each bad line (file:line: what is wrong) and goes on with the rest.
//
// The simple format has these fields (JSON names; CSV headers use the same names, or
// snake_case: src_port, dst_port, src_workload, dst_workload):
//
//	time         RFC 3339 timestamp (optional)
//	src, dst     IP addresses
//	srcPort      source port (optional)
//	dstPort      destination port (required for TCP, UDP and SCTP)
//	protocol     TCP, UDP, SCTP or ICMP (default TCP)
//	bytes        bytes transferred (optional)
//	srcWorkload, dstWorkload
//	             namespace/name or namespace/Kind/name of the workload at that end, used when
//	             the address is not a known pod address (optional)
//
// A flow needs an address or a workload at each end.
package flow

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Flow is one observed flow (or flow record) from source to destination.
type Flow struct {
	Time     time.Time
	Src, Dst Endpoint
	SrcPort  int32
	DstPort  int32
	// Protocol is TCP, UDP, SCTP, or another protocol name (ICMP, ICMPv6, ...) without ports.
	Protocol string
	Bytes    int64
	// Verdict is Hubble's verdict (FORWARDED, DROPPED, ...), empty for the simple format.
	Verdict string
	// Origin is file:line.
	Origin string
}

// Endpoint is what a flow record says about one end.
type Endpoint struct {
	IP netip.Addr
	// Namespace, Pod, Workload and Kind come from Hubble metadata or the simple format's
	// workload fields; Workload is "name" and Kind may be empty.
	Namespace string
	Pod       string
	Workload  string
	Kind      string
	// Labels are the pod's labels, from Hubble.
	Labels map[string]string
	// Reserved is Hubble's reserved identity (world, host, remote-node, kube-apiserver, ...).
	Reserved string
}

// String renders the address, or the workload when there is no address.
func (e Endpoint) String() string {
	if e.IP.IsValid() {
		return e.IP.String()
	}
	if e.Workload != "" {
		return e.Namespace + "/" + e.Workload
	}
	return "?"
}

// Limits bound what one file may cost.
type Limits struct {
	// MaxBytes caps a file's size after decompression.
	MaxBytes int64
	// MaxLine caps one line (one JSON object or CSV record).
	MaxLine int
	// MaxFlows caps the flows read from one file.
	MaxFlows int
	// MaxProblems caps the problems recorded per file; the rest are counted.
	MaxProblems int
}

// DefaultLimits suit exports of a busy cluster over a day.
var DefaultLimits = Limits{MaxBytes: 4 << 30, MaxLine: 1 << 20, MaxFlows: 20_000_000, MaxProblems: 50}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultLimits.MaxLine
	}
	if l.MaxFlows <= 0 {
		l.MaxFlows = DefaultLimits.MaxFlows
	}
	if l.MaxProblems <= 0 {
		l.MaxProblems = DefaultLimits.MaxProblems
	}
	return l
}

// Format is a flow file format.
type Format string

// The formats.
const (
	Hubble     Format = "hubble"
	SimpleJSON Format = "json"
	SimpleCSV  Format = "csv"
)

// Result is what was read from one file.
type Result struct {
	Format Format
	Flows  []Flow
	// Skipped counts records that are not flows (Hubble node status, lost events) or are
	// replies (is_reply: return traffic of a connection already counted).
	Skipped int
	// Problems are bad records, as "file:line: message"; Dropped counts those beyond the cap.
	Problems []string
	Dropped  int
}

type reader struct {
	name string
	lim  Limits
	res  *Result
}

func (r *reader) problem(line int, format string, args ...any) {
	if len(r.res.Problems) >= r.lim.MaxProblems {
		r.res.Dropped++
		return
	}
	r.res.Problems = append(r.res.Problems, fmt.Sprintf("%s:%d: %s", r.name, line, fmt.Sprintf(format, args...)))
}

func (r *reader) add(f Flow) error {
	if len(r.res.Flows) >= r.lim.MaxFlows {
		return fmt.Errorf("%s: more than %d flows: split the file or raise the limit", r.name, r.lim.MaxFlows)
	}
	r.res.Flows = append(r.res.Flows, f)
	return nil
}

// ReadFile reads one flow file, detecting its format (and gzip compression).
func ReadFile(path string, lim Limits) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("flows %s: %w", path, err)
	}
	defer f.Close()
	return Read(f, path, lim)
}

// ErrTooLarge is returned when a file exceeds Limits.MaxBytes.
var ErrTooLarge = errors.New("larger than the size limit")

// limitedReader fails, rather than stops, when more than n bytes are read.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

// Read reads flows from r; name is used in problems.
func Read(in io.Reader, name string, lim Limits) (*Result, error) {
	lim = lim.withDefaults()
	br := bufio.NewReaderSize(in, 64<<10)
	head, _ := br.Peek(2)
	var src io.Reader = br
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("flows %s: gzip: %w", name, err)
		}
		defer gz.Close()
		src = gz
	}
	lr := &limitedReader{r: src, n: lim.MaxBytes}
	br = bufio.NewReaderSize(lr, 64<<10)
	first, err := firstByte(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &Result{Format: SimpleJSON}, nil
		}
		return nil, wrapRead(name, lim, err)
	}
	r := &reader{name: name, lim: lim, res: &Result{}}
	switch first {
	case '[':
		r.res.Format = SimpleJSON
		err = r.readJSONArray(br)
	case '{':
		err = r.readJSONLines(br)
	default:
		r.res.Format = SimpleCSV
		err = r.readCSV(br)
	}
	if err != nil {
		return r.res, wrapRead(name, lim, err)
	}
	return r.res, nil
}

func wrapRead(name string, lim Limits, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("flows %s: more than %d MiB (decompressed): split the file or raise the limit: %w", name, lim.MaxBytes>>20, ErrTooLarge)
	}
	if strings.HasPrefix(err.Error(), "flows ") || strings.HasPrefix(err.Error(), name) {
		return err
	}
	return fmt.Errorf("flows %s: %w", name, err)
}

// firstByte returns the first byte that is not white space, without consuming it.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b == 0xEF { // a UTF-8 byte order mark
			if rest, _ := br.Peek(2); bytes.Equal(rest, []byte{0xBB, 0xBF}) {
				br.Discard(2)
				continue
			}
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, br.UnreadByte()
		}
	}
}

// readLines calls f for every non-blank line, with its number.
func (r *reader) readLines(br *bufio.Reader, f func(line int, text []byte) error) error {
	line := 0
	var buf []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		buf = append(buf, chunk...)
		if len(buf) > r.lim.MaxLine {
			line++
			r.problem(line, "line longer than %d bytes: skipped", r.lim.MaxLine)
			for isPrefix {
				if _, isPrefix, err = br.ReadLine(); err != nil {
					return nil
				}
			}
			buf = buf[:0]
			continue
		}
		if isPrefix {
			continue
		}
		line++
		text := bytes.TrimSpace(buf)
		if len(text) > 0 {
			if err := f(line, text); err != nil {
				return err
			}
		}
		buf = buf[:0]
	}
}

// readJSONLines reads one JSON object per line: Hubble records or simple-format flows.
func (r *reader) readJSONLines(br *bufio.Reader) error {
	return r.readLines(br, func(line int, text []byte) error {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(text, &probe); err != nil {
			r.problem(line, "not a JSON object: %s", cleanJSONError(err))
			return nil
		}
		return r.record(line, text, probe)
	})
}

// record reads one JSON object of either format.
func (r *reader) record(line int, text []byte, probe map[string]json.RawMessage) error {
	_, isFlow := probe["flow"]
	_, hasIP := probe["IP"]
	_, hasL4 := probe["l4"]
	_, hasVerdict := probe["verdict"]
	_, hasEvent := probe["node_status"]
	_, hasLost := probe["lost_events"]
	switch {
	case isFlow || hasIP || hasL4 || hasVerdict || hasEvent || hasLost:
		if r.res.Format == "" {
			r.res.Format = Hubble
		}
		return r.hubble(line, text)
	default:
		if r.res.Format == "" {
			r.res.Format = SimpleJSON
		}
		return r.simpleJSON(line, text)
	}
}

func cleanJSONError(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}

// readJSONArray reads a JSON array of simple-format (or Hubble) objects.
func (r *reader) readJSONArray(br *bufio.Reader) error {
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return err
	}
	for i := 1; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			r.problem(i, "array element %d: %s: the rest of the file is skipped", i, cleanJSONError(err))
			return nil
		}
		if len(raw) > r.lim.MaxLine {
			r.problem(i, "array element %d is longer than %d bytes: skipped", i, r.lim.MaxLine)
			continue
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			r.problem(i, "array element %d is not a JSON object", i)
			continue
		}
		if err := r.record(i, raw, probe); err != nil {
			return err
		}
	}
	return nil
}

// simple is the simple format's JSON shape.
type simple struct {
	Time        string      `json:"time"`
	Src         string      `json:"src"`
	Dst         string      `json:"dst"`
	SrcPort     json.Number `json:"srcPort"`
	DstPort     json.Number `json:"dstPort"`
	Protocol    string      `json:"protocol"`
	Bytes       json.Number `json:"bytes"`
	SrcWorkload string      `json:"srcWorkload"`
	DstWorkload string      `json:"dstWorkload"`
}

func (r *reader) simpleJSON(line int, text []byte) error {
	var s simple
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		r.problem(line, "%s", cleanJSONError(err))
		return nil
	}
	f, err := s.flow()
	if err != nil {
		r.problem(line, "%v", err)
		return nil
	}
	f.Origin = fmt.Sprintf("%s:%d", r.name, line)
	return r.add(f)
}

func (s simple) flow() (Flow, error) {
	var f Flow
	var err error
	if s.Time != "" {
		if f.Time, err = time.Parse(time.RFC3339Nano, s.Time); err != nil {
			return f, fmt.Errorf("time %q: want RFC 3339, like 2026-01-02T15:04:05Z", s.Time)
		}
	}
	if f.Src, err = endpoint("src", s.Src, s.SrcWorkload); err != nil {
		return f, err
	}
	if f.Dst, err = endpoint("dst", s.Dst, s.DstWorkload); err != nil {
		return f, err
	}
	f.Protocol = strings.ToUpper(strings.TrimSpace(s.Protocol))
	if f.Protocol == "" {
		f.Protocol = "TCP"
	}
	switch f.Protocol {
	case "TCP", "UDP", "SCTP":
		if f.DstPort, err = port("dstPort", string(s.DstPort), true); err != nil {
			return f, err
		}
		if f.SrcPort, err = port("srcPort", string(s.SrcPort), false); err != nil {
			return f, err
		}
	case "ICMP", "ICMPV4", "ICMPV6":
	default:
		return f, fmt.Errorf("protocol %q: want TCP, UDP, SCTP or ICMP", s.Protocol)
	}
	if s.Bytes != "" {
		n, err := strconv.ParseInt(string(s.Bytes), 10, 64)
		if err != nil || n < 0 {
			return f, fmt.Errorf("bytes %q: want a count", s.Bytes)
		}
		f.Bytes = n
	}
	return f, nil
}

func endpoint(field, ip, workload string) (Endpoint, error) {
	var e Endpoint
	ip = strings.TrimSpace(ip)
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return e, fmt.Errorf("%s %q: not an IP address", field, ip)
		}
		e.IP = a.Unmap()
	}
	if w := strings.TrimSpace(workload); w != "" {
		parts := strings.Split(w, "/")
		switch len(parts) {
		case 2:
			e.Namespace, e.Workload = parts[0], parts[1]
		case 3:
			e.Namespace, e.Kind, e.Workload = parts[0], parts[1], parts[2]
		default:
			return e, fmt.Errorf("%sWorkload %q: want namespace/name or namespace/Kind/name", field, workload)
		}
		if e.Namespace == "" || e.Workload == "" {
			return e, fmt.Errorf("%sWorkload %q: want namespace/name or namespace/Kind/name", field, workload)
		}
	}
	if !e.IP.IsValid() && e.Workload == "" {
		return e, fmt.Errorf("%s: give an IP address or %sWorkload", field, field)
	}
	return e, nil
}

func port(field, s string, required bool) (int32, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return 0, fmt.Errorf("%s: required for TCP, UDP and SCTP", field)
		}
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 || (required && n == 0) {
		return 0, fmt.Errorf("%s %q: want a port number from 1 to 65535", field, s)
	}
	return int32(n), nil
}

// csvColumns maps header names to simple fields.
var csvColumns = map[string]string{
	"time": "time", "src": "src", "dst": "dst", "srcport": "srcPort", "src_port": "srcPort",
	"dstport": "dstPort", "dst_port": "dstPort", "protocol": "protocol", "proto": "protocol", "bytes": "bytes",
	"srcworkload": "srcWorkload", "src_workload": "srcWorkload", "dstworkload": "dstWorkload", "dst_workload": "dstWorkload",
}

func (r *reader) readCSV(br *bufio.Reader) error {
	cr := csv.NewReader(&lineCapReader{r: br, max: r.lim.MaxLine})
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, errLineTooLong) {
			return err
		}
		return fmt.Errorf("not Hubble JSON, simple JSON or CSV with a header: %v", err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		name, ok := csvColumns[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			return fmt.Errorf("line 1: unknown column %q: want time, src, src_port, dst, dst_port, protocol, bytes, src_workload, dst_workload", h)
		}
		if seen[name] {
			return fmt.Errorf("line 1: column %q twice", h)
		}
		seen[name], cols[i] = true, name
	}
	if (!seen["src"] && !seen["srcWorkload"]) || (!seen["dst"] && !seen["dstWorkload"]) {
		return fmt.Errorf("line 1: the header needs src (or src_workload) and dst (or dst_workload) columns")
	}
	for {
		rec, err := cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				// A read error (too large, a corrupt gzip stream) repeats forever: stop.
				return err
			}
			r.problem(pe.Line, "%v", pe.Err)
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			r.problem(line, "%d fields, the header has %d", len(rec), len(cols))
			continue
		}
		var s simple
		for i, v := range rec {
			switch cols[i] {
			case "time":
				s.Time = v
			case "src":
				s.Src = v
			case "dst":
				s.Dst = v
			case "srcPort":
				s.SrcPort = json.Number(v)
			case "dstPort":
				s.DstPort = json.Number(v)
			case "protocol":
				s.Protocol = v
			case "bytes":
				s.Bytes = json.Number(strings.TrimSpace(v))
			case "srcWorkload":
				s.SrcWorkload = v
			case "dstWorkload":
				s.DstWorkload = v
			}
		}
		f, err := s.flow()
		if err != nil {
			r.problem(line, "%v", err)
			continue
		}
		f.Origin = fmt.Sprintf("%s:%d", r.name, line)
		if err := r.add(f); err != nil {
			return err
		}
	}
}

var errLineTooLong = errors.New("a CSV record longer than the line limit")

// lineCapReader fails when a line exceeds max bytes, so one CSV record cannot take all memory.
type lineCapReader struct {
	r   io.Reader
	max int
	run int
}

func (l *lineCapReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.run = 0
			continue
		}
		l.run++
		if l.run > l.max {
			return n, fmt.Errorf("%w (%d bytes)", errLineTooLong, l.max)
		}
	}
	return n, err
}
