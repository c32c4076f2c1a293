package testenv

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMergeFlags(t *testing.T) {
	defaults := map[string]string{"a": "1", "b": "2"}
	tests := []struct {
		name      string
		overrides map[string]string
		want      map[string]string
	}{
		{"none", nil, map[string]string{"a": "1", "b": "2"}},
		{"replace", map[string]string{"a": "9"}, map[string]string{"a": "9", "b": "2"}},
		{"add", map[string]string{"c": "3"}, map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"remove", map[string]string{"b": ""}, map[string]string{"a": "1"}},
		{"remove absent", map[string]string{"z": ""}, map[string]string{"a": "1", "b": "2"}},
		{"dashes ignored", map[string]string{"--a": "7", "-b": ""}, map[string]string{"a": "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeFlags(defaults, tt.overrides)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mergeFlags(%v, %v) = %v, want %v", defaults, tt.overrides, got, tt.want)
			}
		})
	}
	if defaults["b"] != "2" {
		t.Errorf("mergeFlags changed its defaults: %v", defaults)
	}
}

func TestFlagArgsSorted(t *testing.T) {
	got := flagArgs(map[string]string{"secure-port": "6443", "anonymous-auth": "false", "v": "2"})
	want := []string{"--anonymous-auth=false", "--secure-port=6443", "--v=2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flagArgs = %q, want %q", got, want)
	}
}

func TestLastLines(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		b.WriteString(strings.Repeat("x", i%3) + "line\n")
	}
	got := strings.Split(lastLines([]byte(b.String()), 40), "\n")
	if len(got) != 40 {
		t.Fatalf("lastLines kept %d lines, want 40", len(got))
	}
	if want := "\t" + strings.Repeat("x", 50%3) + "line"; got[39] != want {
		t.Errorf("last line = %q, want %q", got[39], want)
	}
	if got := lastLines(nil, 40); got != "\t(empty)" {
		t.Errorf("lastLines(nil) = %q", got)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("freePorts(5) = %v: want 5 distinct ports", ports)
		}
		seen[p] = true
	}
}

func TestProcessStop(t *testing.T) {
	sh, err := os.Stat("/bin/sh")
	if err != nil || sh.IsDir() {
		t.Skip("needs /bin/sh")
	}
	tests := []struct {
		name    string
		script  string
		atLeast time.Duration // how long stop must wait: the grace period when SIGTERM is ignored
	}{
		{"exits on SIGTERM", "echo started; exec sleep 60", 0},
		{"ignores SIGTERM", "trap '' TERM; echo started; exec sleep 60", 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := startScript(dir, tt.script)
			if err != nil {
				t.Fatal(err)
			}
			waitForLog(t, p, "started")
			begin := time.Now()
			if err := p.stop(300 * time.Millisecond); err != nil {
				t.Fatalf("stop: %v", err)
			}
			took := time.Since(begin)
			if !p.exited() {
				t.Fatal("process still running after stop")
			}
			if took < tt.atLeast || took > 5*time.Second {
				t.Errorf("stop took %s, want between %s and 5s", took, tt.atLeast)
			}
			if err := p.stop(time.Second); err != nil {
				t.Errorf("second stop: %v", err)
			}
		})
	}
}

func TestProcessExitErrorQuotesLog(t *testing.T) {
	p, err := startScript(t.TempDir(), "echo first; echo 'Error: unknown flag --bogus' >&2; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	msg := p.exitError("exited before it was ready").Error()
	for _, want := range []string{"sleeper exited before it was ready", "exit status 3", "first", "unknown flag --bogus"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

// startScript runs a shell script as a process named "sleeper".
func startScript(dir, script string) (*process, error) {
	path := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(path, []byte(script+"\n"), 0o755); err != nil {
		return nil, err
	}
	return startProcess(dir, "sleeper", "/bin/sh", path)
}

// waitForLog waits until the process's log contains want, so signals arrive after a trap is set.
func waitForLog(t *testing.T, p *process, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if data, _ := os.ReadFile(p.logPath); strings.Contains(string(data), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log of %s never said %q: %s", p.name, want, p.tail())
}
