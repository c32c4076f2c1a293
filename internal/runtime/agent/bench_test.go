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

// runWorkload runs n operations in a child process and returns its wall time, the CPU time
// of the child and its children (the eBPF programs run in the workload's context, so their
// cost lands here), and the CPU time of this process meanwhile (the sensor's reader).
func runWorkload(b *testing.B, n int) (wall, workloadCPU, sensorCPU time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkloadHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), workloadEnv+"="+strconv.Itoa(n))
	self0, children0 := cpuTime()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("workload: %v\n%s", err, out)
	}
	wall = time.Since(start)
	self1, children1 := cpuTime()
	return wall, children1 - children0, self1 - self0
}

func cpuTime() (self, children time.Duration) {
	var s, c syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &s)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(s.Utime) + tv(s.Stime), tv(c.Utime) + tv(c.Stime)
}

// BenchmarkSensorOverhead runs the workload without the sensor and with it (attributing,
// detecting and encoding every event as JSON, to io.Discard), in rounds ordered off-on, on-off,
// ... so that drift in the machine's speed and any order effect fall on both, and reports both
// rates, the overhead in wall time and in the workload's CPU time (the in-kernel programs),
// the sensor's own CPU per event, and the events seen and lost. Run with a fixed count:
//
//	go test -run '^$' -bench SensorOverhead -benchtime 4000x ./internal/runtime/agent
//
// The sensor sees every process on the machine, not only the workload's: on a shared machine
// the events per operation and the sensor's CPU include the neighbours'.
func BenchmarkSensorOverhead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to load eBPF programs")
	}
	runWorkload(b, 50) // warm the page cache
	// every-event: each event encoded as a JSON line; alerts-only: what a DaemonSet that
	// streams alerts does, the events still decoded, attributed and run through detections.
	b.Run("every-event", func(b *testing.B) { overhead(b, false) })
	b.Run("alerts-only", func(b *testing.B) { overhead(b, true) })
}

func overhead(b *testing.B, alertsOnly bool) {
	const rounds = 4
	per := max(b.N/rounds, 1)
	var offWall, offCPU, onWall, onCPU, sensorCPU time.Duration
	var events, lost uint64
	b.ResetTimer()
	for round := range rounds {
		for _, on := range []bool{round%2 == 1, round%2 == 0} {
			if !on {
				wall, cpu, _ := runWorkload(b, per)
				offWall, offCPU = offWall+wall, offCPU+cpu
				continue
			}
			st, wall, cpu, self := withSensor(b, per, alertsOnly)
			onWall, onCPU, sensorCPU = onWall+wall, onCPU+cpu, sensorCPU+self
			events += st.Events
			lost += st.Lost.Total()
		}
	}
	b.StopTimer()
	ops := float64(per * rounds)
	b.ReportMetric(float64(offWall.Nanoseconds())/ops, "ns/op-off")
	b.ReportMetric(float64(onWall.Nanoseconds())/ops, "ns/op-on")
	b.ReportMetric(100*(float64(onWall)/float64(offWall)-1), "%wall-overhead")
	b.ReportMetric(100*(float64(onCPU)/float64(offCPU)-1), "%workload-cpu-overhead")
	b.ReportMetric(float64(sensorCPU.Nanoseconds())/float64(max(events, 1)), "sensor-cpu-ns/event")
	b.ReportMetric(100*float64(sensorCPU)/float64(offCPU), "%sensor-cpu-of-workload")
	b.ReportMetric(ops/onWall.Seconds(), "execs/s")
	b.ReportMetric(ops*connectsPerOp/onWall.Seconds(), "connects/s")
	b.ReportMetric(float64(events)/ops, "events/op")
	b.ReportMetric(float64(lost), "lost")
}

// withSensor runs the agent around one workload run and returns what it saw with the
// workload's wall and CPU time and the sensor's CPU time. Events from the rest of the machine
// are seen and counted too: the CI machine is shared.
func withSensor(b *testing.B, n int, alertsOnly bool) (Stats, time.Duration, time.Duration, time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := Run(ctx, Config{Node: "bench", Output: io.Discard, AlertsOnly: alertsOnly, Ready: func() { close(ready) }})
		done <- result{st, err}
	}()
	select {
	case <-ready:
	case r := <-done:
		b.Skipf("the eBPF sensor cannot run here: %v", r.err)
	}
	self0, _ := cpuTime()
	wall, cpu, _ := runWorkload(b, n)
	// Let the reader drain what is in flight before it is stopped and counted.
	time.Sleep(50 * time.Millisecond)
	cancel()
	r := <-done
	self1, _ := cpuTime()
	if r.err != nil {
		b.Fatal(r.err)
	}
	return r.st, wall, cpu, self1 - self0
}
