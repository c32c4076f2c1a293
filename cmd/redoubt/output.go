package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/report"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorFor says whether to colour output written to w: only on a terminal, and never when
// NO_COLOR is set (https://no-color.org).
func colorFor(w io.Writer, noColor bool) bool {
	return !noColor && os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

// terminalWidth is w's width, or 80.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd >= 40 {
			return wd
		}
	}
	return 80
}

// progress tells a person at a terminal what is happening; it says nothing to pipelines.
func progress(cmd *cobra.Command, format string, args ...any) {
	if isTerminal(cmd.ErrOrStderr()) {
		fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...)
	}
}

// createTemp creates an empty temporary file beside path, readable as any file the user creates
// is (0666 under the umask, so 0644 usually): os.CreateTemp makes 0600 files, and a report
// renamed from one is unreadable to the CI job or colleague it was written for.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no unused temporary name beside %s", path)
}

// writeOutput writes to path atomically (a temporary file renamed into place, so a failure never
// leaves half a report), or to stdout when path is empty or "-".
func writeOutput(cmd *cobra.Command, path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(cmd.OutOrStdout())
	}
	// A device or a pipe (-o /dev/null, -o /dev/stderr, a FIFO) is written to, never replaced:
	// renaming over it would turn the device into a file.
	if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() {
		if info.IsDir() {
			return fmt.Errorf("output %s: is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("output %s: %w", path, err)
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("output %s: %w", path, err)
		}
		return f.Close()
	}
	tmp, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// A report written over an older one keeps the older one's permissions.
	if info, err := os.Stat(path); err == nil {
		if err := tmp.Chmod(info.Mode().Perm()); err != nil {
			tmp.Close()
			return fmt.Errorf("output %s: %w", path, err)
		}
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("output %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	return nil
}

// writeFindings writes a result that has no snapshot of its own (audit-log and agent events) in
// the given format, reports its input problems (problemSummary as for inputErrors), and returns
// the exit-1 error when a finding reaches threshold.
func writeFindings(cmd *cobra.Command, res *audit.Result, format, output string, noColor, showSuppressed bool,
	threshold finding.Severity, problemSummary string) error {
	out := cmd.OutOrStdout()
	ropts := report.Options{ToolVersion: version(), Color: output == "" && colorFor(out, noColor),
		Width: terminalWidth(out), ShowSuppressed: showSuppressed}
	if err := writeOutput(cmd, output, func(w io.Writer) error { return report.Write(w, format, res, ropts) }); err != nil {
		return err
	}
	if err := inputErrors(cmd, res.Problems, problemSummary); err != nil {
		return err
	}
	return failOnFindings(res, threshold)
}
