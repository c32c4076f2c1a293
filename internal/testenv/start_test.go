package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestStartFailureCleansUp starts an apiserver with a flag it rejects and checks that Start
// reports why, quoting the log, and leaves no process and no directory behind.
func TestStartFailureCleansUp(t *testing.T) {
	skipUnlessCluster(t)
	bins, err := Binaries(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	c, err := Start(t.Context(), Options{
		Binaries:       bins,
		TempDir:        parent,
		APIServerFlags: map[string]string{"no-such-flag": "x"},
	})
	if err == nil {
		c.Stop()
		t.Fatal("Start with an unknown apiserver flag succeeded")
	}
	for _, want := range []string{"kube-apiserver exited before it was ready", "unknown flag: --no-such-flag", "kube-apiserver.log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("Start left %d entries in its TempDir, e.g. %s", len(left), left[0].Name())
	}
	// etcd had started: it must be gone. Its command line names our directory.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cmdline, err := os.ReadFile(p); err == nil && strings.Contains(string(cmdline), parent) {
			t.Errorf("process %s still runs after the failed Start: %s", filepath.Dir(p), strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}

// TestStopLeavesNothing starts a full cluster, stops it, and checks that no process, no
// directory and no goroutine of ours is left. It does not run in parallel, so the goroutine
// count is ours alone.
func TestStopLeavesNothing(t *testing.T) {
	skipUnlessCluster(t)
	before := runtime.NumGoroutine()
	parent := t.TempDir()
	c, err := Start(t.Context(), Options{TempDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range c.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	if len(pids) != 3 {
		t.Errorf("started %d processes, want etcd, kube-apiserver and kube-controller-manager", len(pids))
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for _, pid := range pids {
		// Reaped children have no /proc entry (a zombie would still have one).
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("process %d still exists after Stop", pid)
		}
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s still exists after Stop (stat: %v)", c.Dir, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before Start, %d after Stop:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
