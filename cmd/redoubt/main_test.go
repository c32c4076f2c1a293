package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/checks.md")

// redoubt runs the CLI in-process and returns its exit code, stdout and stderr.
func redoubt(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

const example = "../../examples/shop"

// golden compares output with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/redoubt -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (review, then go test ./cmd/redoubt -update):\n%s", p, diff(string(want), got))
	}
}

// diff shows the first lines that differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return ""
}

func TestScanExampleGolden(t *testing.T) {
	for _, format := range []string{"table", "json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := redoubt(t, "", "scan", example, "--format", format, "--skip-images")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, "shop."+format, out)
		})
	}
}

func TestScanExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bad, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers: [{name: c, image: \"x:1\", securityContext: {privileged: true}}]\n")
	write("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
		inStdout string
	}{
		{"clean run", []string{"scan", example}, 0, "", "findings"},
		{"fail on high", []string{"scan", example, "--fail-on", "high"}, 1, "findings at or above high", ""},
		{"fail on critical, case-insensitive", []string{"scan", example, "--fail-on", "CRITICAL"}, 1, "", ""},
		{"bad severity", []string{"scan", example, "--fail-on", "urgent"}, 2, `"urgent" is not a severity`, ""},
		{"bad format", []string{"scan", example, "--format", "xml"}, 2, `--format "xml"`, ""},
		{"unknown flag", []string{"scan", example, "--frmat", "json"}, 2, "unknown flag: --frmat", ""},
		{"paths and cluster", []string{"scan", example, "--context", "prod"}, 2, "either manifest paths or --kubeconfig/--context", ""},
		{"input error after scanning the rest", []string{"scan", bad, "--fail-on", "low"}, 2, "broken.yaml:4:", "privileged-container"},
		{"missing path", []string{"scan", filepath.Join(dir, "nope")}, 2, "no such file or directory", ""},
		{"bad policy file", []string{"scan", example, "--config", filepath.Join(bad, "good.yaml")}, 2, "unknown field", ""},
		{"no cluster", []string{"scan", "--kubeconfig", filepath.Join(dir, "nope")}, 2, "nope", ""},
		{"stdin", []string{"inventory", "-"}, 0, "", "x/Pod/p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdin := ""
			if tc.name == "stdin" {
				stdin = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec: {containers: [{name: c, image: a}]}\n"
			}
			code, out, errOut := redoubt(t, stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.inStderr)
			}
			if !strings.Contains(out, tc.inStdout) {
				t.Errorf("stdout does not contain %q:\n%s", tc.inStdout, out)
			}
		})
	}
}

func TestScanOutputFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.sarif")
	code, out, errOut := redoubt(t, "", "scan", example, "--format", "sarif", "-o", p)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &log); err != nil || log.Version != "2.1.0" || len(log.Runs[0].Results) == 0 {
		t.Fatalf("report is not a SARIF log with results: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// Writing into a directory that does not exist fails cleanly.
	code, _, errOut = redoubt(t, "", "scan", example, "-o", filepath.Join(dir, "missing", "r.txt"))
	if code != 2 || !strings.Contains(errOut, "missing") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// docs/checks.md is generated from the registry; it must never drift from the code.
func TestChecksDocIsCurrent(t *testing.T) {
	code, out, errOut := redoubt(t, "", "checks", "--format", "markdown")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p := filepath.Join("..", "..", "docs", "checks.md")
	if *update {
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != out {
		t.Errorf("docs/checks.md is stale: run go run ./cmd/redoubt checks --format markdown > docs/checks.md\n%s", diff(string(want), out))
	}
}

func TestHelpTeaches(t *testing.T) {
	for _, cmd := range [][]string{{"--help"}, {"scan", "--help"}, {"inventory", "--help"}, {"checks", "--help"}} {
		code, out, _ := redoubt(t, "", cmd...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d", cmd, code)
		}
	}
	// The exit codes are documented where a newcomer looks first, the root help; scan's own
	// help teaches its flags, examples and exceptions.
	if _, out, _ := redoubt(t, "", "--help"); !strings.Contains(out, "Exit codes") {
		t.Errorf("redoubt --help does not explain the exit codes")
	}
	_, out, _ := redoubt(t, "", "scan", "--help")
	for _, want := range []string{"--fail-on", "Examples:", ".redoubt.yaml"} {
		if !strings.Contains(out, want) {
			t.Errorf("scan --help does not mention %s", want)
		}
	}
}

// -o to a device or a pipe writes to it; it must never replace it with a file (renaming a
// temporary file over /dev/null would).
func TestOutputToAFIFOIsWrittenNotReplaced(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan []byte)
	go func() {
		data, _ := os.ReadFile(fifo)
		got <- data
	}()
	code, _, errOut := redoubt(t, "", "scan", example, "--skip-images", "--format", "json", "-o", fifo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if data := <-got; !strings.Contains(string(data), `"schemaVersion": 1`) {
		t.Errorf("the pipe did not receive the report: %.80q", data)
	}
	if info, err := os.Lstat(fifo); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", info.Mode(), err)
	}
	code, _, errOut = redoubt(t, "", "scan", example, "--skip-images", "-o", t.TempDir())
	if code != 2 || !strings.Contains(errOut, "is a directory") {
		t.Errorf("-o DIR: exit %d, %s", code, errOut)
	}
}

// syncBuffer is a bytes.Buffer a command writes to from its goroutines while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
