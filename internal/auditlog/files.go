package auditlog

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Inputs turns command-line arguments into inputs, in order. A file is read as given; "-" is
// stdin; a directory or a glob pattern stands for the audit logs in it, sorted oldest first
// the way log rotation names them: audit.log.2 before audit.log.1 before audit.log, and the
// API server's own backups (audit-2026-12-01T10-00-00.000.log) by their timestamp, before the
// live file. Compressed rotations (audit.log.1.gz) sort as if uncompressed.
func Inputs(args []string, stdin io.Reader) ([]Input, error) {
	var out []Input
	for _, a := range args {
		if a == "-" {
			out = append(out, Input{Name: "-", Open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
			continue
		}
		info, err := os.Stat(a)
		switch {
		case err == nil && info.IsDir():
			entries, err := os.ReadDir(a)
			if err != nil {
				return nil, fmt.Errorf("audit log directory %s: %w", a, err)
			}
			var names []string
			for _, e := range entries {
				if e.Type().IsRegular() && looksLikeLog(e.Name()) {
					names = append(names, filepath.Join(a, e.Name()))
				}
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("audit log directory %s: no *.log, *.log.N or *.gz files in it", a)
			}
			out = append(out, fileInputs(SortRotated(names))...)
		case err == nil:
			out = append(out, fileInputs([]string{a})...)
		case strings.ContainsAny(a, "*?["):
			names, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, fmt.Errorf("audit log pattern %q: %w", a, gerr)
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("audit log pattern %q matches no file", a)
			}
			out = append(out, fileInputs(SortRotated(names))...)
		default:
			return nil, fmt.Errorf("audit log %s: %w", a, err)
		}
	}
	return out, nil
}

func fileInputs(paths []string) []Input {
	out := make([]Input, 0, len(paths))
	for _, p := range paths {
		out = append(out, Input{Name: p, Open: func() (io.ReadCloser, error) {
			f, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("opening the audit log: %w", err)
			}
			return f, nil
		}})
	}
	return out
}

func looksLikeLog(name string) bool {
	n := strings.TrimSuffix(name, ".gz")
	return strings.HasSuffix(n, ".log") || strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".jsonl") ||
		rotatedNumber.MatchString(n) || name != n
}

var (
	rotatedNumber = regexp.MustCompile(`^(.*)\.(\d+)$`)
	// The API server's log backend (lumberjack) names backups NAME-2006-01-02T15-04-05.000.EXT.
	rotatedTime = regexp.MustCompile(`^(.*)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?)(\.[^.]*)?$`)
)

// rotation is where a file sits in its log's rotation: its base name, and a key ordering the
// files of one base oldest first.
type rotation struct {
	base  string
	class int // 0 timestamped backup, 1 numbered backup, 2 the live file
	stamp string
	n     int
}

func rotationOf(path string) rotation {
	dir, name := filepath.Split(path)
	name = strings.TrimSuffix(name, ".gz")
	if m := rotatedNumber.FindStringSubmatch(name); m != nil {
		n, _ := strconv.Atoi(m[2])
		return rotation{base: dir + m[1], class: 1, n: n}
	}
	if m := rotatedTime.FindStringSubmatch(name); m != nil {
		return rotation{base: dir + m[1] + m[3], class: 0, stamp: m[2]}
	}
	return rotation{base: dir + name, class: 2}
}

// SortRotated orders log files oldest first: by base name, then timestamped backups by time,
// numbered backups highest number first, then the live file.
func SortRotated(paths []string) []string {
	out := slices.Clone(paths)
	slices.SortStableFunc(out, func(a, b string) int {
		ra, rb := rotationOf(a), rotationOf(b)
		if c := cmp.Compare(ra.base, rb.base); c != 0 {
			return c
		}
		if c := cmp.Compare(ra.class, rb.class); c != 0 {
			return c
		}
		if c := cmp.Compare(ra.stamp, rb.stamp); c != 0 {
			return c
		}
		if c := cmp.Compare(rb.n, ra.n); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out
}
