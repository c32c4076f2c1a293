package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/image"
)

// scanFindings runs a scan with --format json and returns the findings' checks and severities.
func scanFindings(t *testing.T, args ...string) (code int, checks, severities []string, errOut string) {
	t.Helper()
	code, out, errOut := redoubt(t, "", append(args, "--format", "json")...)
	var doc struct {
		Findings []struct {
			Check    string `json:"check"`
			Severity string `json:"severity"`
		} `json:"findings"`
	}
	if code != 2 {
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
	}
	for _, f := range doc.Findings {
		checks = append(checks, f.Check)
		severities = append(severities, f.Severity)
	}
	return code, checks, severities, errOut
}

func TestScanSeverityAndCheckFilters(t *testing.T) {
	base := []string{"scan", example, "--skip-images"}
	_, all, _, _ := scanFindings(t, base...)
	if len(all) == 0 {
		t.Fatal("the example has no findings")
	}
	tests := []struct {
		name  string
		args  []string
		check func(checks, sevs []string) bool
	}{
		{"--severity keeps those severities", []string{"--severity", "critical,high"}, func(c, s []string) bool {
			for _, x := range s {
				if x != "critical" && x != "high" {
					return false
				}
			}
			return len(s) > 0
		}},
		{"--check takes an ID", []string{"--check", "privileged-container"}, func(c, s []string) bool {
			for _, x := range c {
				if x != "privileged-container" {
					return false
				}
			}
			return len(c) > 0
		}},
		{"--check takes a glob, repeated", []string{"--check", "host-*", "--check", "run-as-root"}, func(c, s []string) bool {
			for _, x := range c {
				if !strings.HasPrefix(x, "host-") && x != "run-as-root" {
					return false
				}
			}
			return len(c) > 0 && len(c) < len(all)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, checks, sevs, errOut := scanFindings(t, append(base, tc.args...)...)
			if code != 0 || !tc.check(checks, sevs) {
				t.Errorf("exit %d, kept %v %v\n%s", code, checks, sevs, errOut)
			}
		})
	}
	// The filter decides what --fail-on sees: no high finding is left among the low ones.
	if code, _, _ := redoubt(t, "", append(base, "--severity", "low", "--fail-on", "high")...); code != 0 {
		t.Errorf("--severity low --fail-on high: exit %d, want 0", code)
	}
	for _, bad := range [][]string{{"--check", "privileged-containr"}, {"--check", "[x"}, {"--severity", "urgent"}} {
		code, _, errOut := redoubt(t, "", append(base, bad...)...)
		if code != 2 || !strings.Contains(errOut, bad[1]) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming it", bad, code, errOut)
		}
	}
}

// The totals come first in the table as well as last.
func TestScanTableTotalsFirstAndLast(t *testing.T) {
	code, out, errOut := redoubt(t, "", "scan", example, "--skip-images")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], " findings (") || lines[0] != lines[len(lines)-1] {
		t.Errorf("first line %q, last line %q: want the same summary", lines[0], lines[len(lines)-1])
	}
}

// A scan of a sub-directory keeps the policy of the directory above it, up to the repository
// root.
func TestScanFindsThePolicyAbove(t *testing.T) {
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(repo, "deploy", "web")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	policy := "exceptions:\n  - checks: [privileged-container]\n    reason: the test accepts it\n    owner: test\n"
	if err := os.WriteFile(filepath.Join(repo, "deploy", ".redoubt.yaml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers: [{name: c, image: \"x:1\", securityContext: {privileged: true}}]\n"
	if err := os.WriteFile(filepath.Join(sub, "pod.yaml"), []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := redoubt(t, "", "scan", sub, "--skip-images", "--fail-on", "high", "--check", "privileged-container")
	if code != 0 || !strings.Contains(out, "1 suppressed") {
		t.Errorf("scan of a sub-directory ignored the policy above it: exit %d\n%s%s", code, out, errOut)
	}
}

func TestScanOutputFileMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	if code, _, errOut := redoubt(t, "", "scan", example, "--skip-images", "--format", "json", "-o", p); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("report created %v, want 0644 under umask 022", info.Mode().Perm())
	}
	// A report written over one the user restricted keeps its mode.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := redoubt(t, "", "scan", example, "--skip-images", "--format", "json", "-o", p); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if info, _ := os.Stat(p); info.Mode().Perm() != 0o600 {
		t.Errorf("rewritten report is %v, want the old 0600", info.Mode().Perm())
	}
}

// Messages say each thing once, with nouns that agree with their numbers.
func TestMessagesAndPlurals(t *testing.T) {
	missing := "oci:" + filepath.Join(t.TempDir(), "nothing")
	unreachable := "127.0.0.1:1/shop/web:1" // a registry that refuses connections
	code, out, errOut := redoubt(t, "", "image", "scan", missing, unreachable, "--db", t.TempDir())
	for _, ref := range []string{missing, unreachable} {
		if code != 2 || strings.Count(errOut, "image "+ref) != 1 {
			t.Errorf("image scan of %s: exit %d; the error must name the image once:\n%s", ref, code, errOut)
		}
	}
	if !strings.Contains(out, "0 findings in 0 images; 2 input errors") {
		t.Errorf("image scan summary speaks of workloads or miscounts images:\n%s", out)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = redoubt(t, "", "scan", dir)
	if code != 2 || strings.Contains(errOut, "the findings above") || !strings.Contains(errOut, "1 input error, and no Kubernetes object could be read from") {
		t.Errorf("input errors and no findings: exit %d\n%s", code, errOut)
	}

	one := &image.Report{Ref: "x:1", Layers: []image.Layer{{}}, Packages: []image.Package{{}}, Vulnerabilities: []image.Vulnerability{{}}}
	if got := imageHeadline(one); !strings.Contains(got, "1 layer (0 cached), 1 package, 1 vulnerability, 0 unnecessary components") {
		t.Errorf("headline %q", got)
	}
	for d, want := range map[time.Duration]string{time.Minute: "1 minute", 90 * time.Minute: "1 hour", 5 * time.Hour: "5 hours", 72 * time.Hour: "3 days"} {
		if got := ageString(d); got != want {
			t.Errorf("ageString(%v) = %q, want %q", d, got, want)
		}
	}
}
