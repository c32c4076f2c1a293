package agent

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The workload runs in a child process (this test binary again, see TestWorkloadHelper):
// the sensor ignores its own process, so a load generated in the benchmark's process would
// be invisible to it.
const workloadEnv = "REDOUBT_SENSOR_WORKLOAD"

// connectsPerOp is how many loopback TCP connections (connect, accept, close) go with each
// fork+exec of /bin/true in one operation of the workload.
const connectsPerOp = 5

// TestWorkloadHelper is the workload process, not a test: with REDOUBT_SENSOR_WORKLOAD=N it
// does N operations from 4 goroutines and exits.
func TestWorkloadHelper(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv(workloadEnv))
	if err != nil {
		t.Skip("the benchmarks' workload process; runs only when they start it")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	const workers = 4
	var wg sync.WaitGroup
	for i := range workers {
		count := n / workers
		if i == 0 {
			count += n % workers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range count {
				if err := exec.Command("/bin/true").Run(); err != nil {
					t.Error(err)
					return
				}
				for range connectsPerOp {
					c, err := net.Dial("tcp", l.Addr().String())
					if err != nil {
						t.Error(err)
						return
					}
					c.Close()
				}
			}
		}()
	}
	wg.Wait()
}

// runWorkload runs n operations in a child process and returns the wall time and the CPU
// time of this process and its children: the eBPF programs run in the workload's context,
// the sensor's reader in this process, so both costs are counted.
func runWorkload(b *testing.B, n int) (wall, cpu time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkloadHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), workloadEnv+"="+strconv.Itoa(n))
	before := cpuTime()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("workload: %v\n%s", err, out)
	}
	return time.Since(start), cpuTime() - before
}

func cpuTime() time.Duration {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

// BenchmarkSensorOverhead runs the workload without the sensor and then with it (attributing,
// detecting and encoding every event as JSON, to io.Discard), in alternating rounds so that
// drift in the machine's speed falls on both, and reports both rates, the overhead in wall
// and CPU time, and the events seen and lost. Run with a fixed count for stable figures:
//
//	go test -run '^$' -bench SensorOverhead -benchtime 3000x ./internal/runtime/agent
func BenchmarkSensorOverhead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to load eBPF programs")
	}
	runWorkload(b, 50) // warm the page cache
	const rounds = 4
	per := max(b.N/rounds, 1)
	var offWall, offCPU, onWall, onCPU time.Duration
	var events, lost uint64
	b.ResetTimer()
	for range rounds {
		wall, cpu := runWorkload(b, per)
		offWall, offCPU = offWall+wall, offCPU+cpu

		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		done := make(chan Stats, 1)
		errc := make(chan error, 1)
		go func() {
			st, err := Run(ctx, Config{Node: "bench", Output: io.Discard, Ready: func() { close(ready) }})
			errc <- err
			done <- st
		}()
		select {
		case <-ready:
		case err := <-errc:
			cancel()
			b.Skipf("the eBPF sensor cannot run here: %v", err)
		}
		wall, cpu = runWorkload(b, per)
		// Let the reader drain what is in flight before it is stopped and counted.
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		st := <-done
		onWall, onCPU = onWall+wall, onCPU+cpu
		events += st.Events
		lost += st.Lost.Total()
	}
	b.StopTimer()
	ops := float64(per * rounds)
	b.ReportMetric(float64(offWall.Nanoseconds())/ops, "ns/op-off")
	b.ReportMetric(float64(onWall.Nanoseconds())/ops, "ns/op-on")
	b.ReportMetric(100*(float64(onWall)/float64(offWall)-1), "%wall-overhead")
	b.ReportMetric(100*(float64(onCPU)/float64(offCPU)-1), "%cpu-overhead")
	b.ReportMetric(ops/onWall.Seconds(), "execs/s")
	b.ReportMetric(ops*connectsPerOp/onWall.Seconds(), "connects/s")
	b.ReportMetric(float64(events)/ops, "events/op")
	b.ReportMetric(float64(lost), "lost")
}
