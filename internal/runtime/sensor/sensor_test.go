package sensor

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/runtime/event"
)

func loadForTest(t *testing.T, o LoadOptions) *Sensor {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load eBPF programs")
	}
	s, err := LoadWith(o)
	if err != nil {
		t.Skipf("the eBPF sensor cannot load here: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLossesAreCounted fills a deliberately small ring buffer while nothing reads it and
// checks the kernel side counted what it could not deliver: losses are never silent.
func TestLossesAreCounted(t *testing.T) {
	s := loadForTest(t, LoadOptions{RingBufferSize: 16 << 10}) // room for about 18 exec events
	for range 60 {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	d, err := s.Drops()
	if err != nil {
		t.Fatal(err)
	}
	if d[event.KindExec] == 0 {
		t.Fatalf("60 execs into a 16 KiB ring buffer that nobody read lost nothing: %v", d)
	}
	t.Logf("lost: %v", d)
	// And the reader reports them.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var reported Drops
	s.Run(ctx, Options{OnDrops: func(d Drops) { reported = d; cancel() }}, func(*event.Event) {})
	if reported.Total() < d.Total() {
		t.Errorf("OnDrops reported %v, want at least %v", reported, d)
	}
}

// TestSensorSeesExecAndExit checks the two process events carry what a person needs: pid,
// parent, binary, argv and exit code, from a real process.
func TestSensorSeesExecAndExit(t *testing.T) {
	s := loadForTest(t, LoadOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.Command("/bin/sh", "-c", "exit 7", "redoubt-exec-test")
	var pid uint32
	var sawExec, sawExit bool
	go func() {
		time.Sleep(100 * time.Millisecond)
		cmd.Run()
	}()
	s.Run(ctx, Options{}, func(e *event.Event) {
		switch {
		case e.Kind == event.KindExec && len(e.Exec.Args) == 4 && e.Exec.Args[3] == "redoubt-exec-test":
			sawExec, pid = true, e.Process.PID
			if e.Exec.Binary != "/bin/sh" || e.Process.PPID != uint32(os.Getpid()) || e.Process.CgroupID == 0 {
				t.Errorf("exec %+v %+v", e.Process, e.Exec)
			}
		case e.Kind == event.KindExit && sawExec && e.Process.PID == pid:
			sawExit = true
			if e.Exit.Code != 7 {
				t.Errorf("exit code %d, want 7", e.Exit.Code)
			}
			cancel()
		}
	})
	if !sawExec || !sawExit {
		t.Fatalf("exec seen %v, exit seen %v", sawExec, sawExit)
	}
}
