package sensor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"redoubt.dev/redoubt/internal/runtime/event"
)

// Sensor holds the loaded programs, their attachments and the ring buffer reader. Close
// detaches everything; programs never outlive the process that loaded them.
type Sensor struct {
	objs   bpfObjects
	links  []link.Link
	reader *ringbuf.Reader
	// bootOffset turns the kernel's monotonic timestamps into wall-clock time.
	bootOffset time.Duration

	closeOnce sync.Once
}

// attachment is one program on one tracepoint.
type attachment struct {
	group, name string
	prog        func(*bpfObjects) *ebpf.Program
}

var attachments = []attachment{
	{"sched", "sched_process_exec", func(o *bpfObjects) *ebpf.Program { return o.HandleExec }},
	{"sched", "sched_process_exit", func(o *bpfObjects) *ebpf.Program { return o.HandleExit }},
	{"sock", "inet_sock_set_state", func(o *bpfObjects) *ebpf.Program { return o.HandleSockState }},
	{"syscalls", "sys_exit_accept4", func(o *bpfObjects) *ebpf.Program { return o.HandleAccept4 }},
	{"syscalls", "sys_exit_accept", func(o *bpfObjects) *ebpf.Program { return o.HandleAccept }},
	{"syscalls", "sys_enter_dup2", func(o *bpfObjects) *ebpf.Program { return o.HandleDup2 }},
	{"syscalls", "sys_enter_dup3", func(o *bpfObjects) *ebpf.Program { return o.HandleDup3 }},
}

// LoadOptions tune the kernel side.
type LoadOptions struct {
	// RingBufferSize is the ring buffer's size in bytes, a power of two and a multiple of the
	// page size; zero keeps the compiled-in 8 MiB (about 9,000 exec or 70,000 connect events
	// of slack while user space catches up).
	RingBufferSize uint32
}

// Load mounts tracefs when it is missing, loads the programs (CO-RE: relocated against the
// running kernel's BTF), attaches them to their tracepoints and opens the ring buffer. It
// needs root, or CAP_BPF + CAP_PERFMON (and CAP_SYS_ADMIN to mount tracefs).
func Load() (*Sensor, error) { return LoadWith(LoadOptions{}) }

// LoadWith is Load with options.
func LoadWith(o LoadOptions) (*Sensor, error) {
	if err := ensureTracefs(); err != nil {
		return nil, err
	}
	// A no-op on kernels that charge BPF memory to the memory cgroup (5.11 and later); before
	// that, maps count against RLIMIT_MEMLOCK, which needs raising.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising RLIMIT_MEMLOCK for the eBPF maps (kernels before 5.11 need CAP_SYS_RESOURCE): %w", err)
	}
	spec, err := loadBpf()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded eBPF object: %w", err)
	}
	if err := spec.Variables["self_tgid"].Set(uint32(os.Getpid())); err != nil {
		return nil, fmt.Errorf("configuring the eBPF programs: %w", err)
	}
	if o.RingBufferSize != 0 {
		spec.Maps["events"].MaxEntries = o.RingBufferSize
	}
	s := &Sensor{bootOffset: bootOffset()}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("loading the eBPF programs: the kernel's verifier refused them: %+v", verr)
		}
		return nil, fmt.Errorf("loading the eBPF programs (needs root or CAP_BPF+CAP_PERFMON, and a kernel with BTF): %w", err)
	}
	for _, a := range attachments {
		l, err := link.Tracepoint(a.group, a.name, a.prog(&s.objs), nil)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("attaching to tracepoint %s/%s: %w", a.group, a.name, err)
		}
		s.links = append(s.links, l)
	}
	s.reader, err = ringbuf.NewReader(s.objs.Events)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("opening the event ring buffer: %w", err)
	}
	// The kernel's BTF, parsed for the CO-RE relocations, is tens of megabytes of Go heap
	// that the loaded programs no longer need: hand it back now rather than at some later GC.
	debug.FreeOSMemory()
	return s, nil
}

// ensureTracefs mounts tracefs at /sys/kernel/tracing when neither it nor the debugfs path
// is there: tracepoints are attached by the ids tracefs lists.
func ensureTracefs() error {
	for _, p := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
	}
	if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		return fmt.Errorf("tracefs is not mounted and mounting it at /sys/kernel/tracing failed (mount it on the host, or run with CAP_SYS_ADMIN): %w", err)
	}
	return nil
}

// bootOffset is wall-clock time minus the monotonic clock bpf_ktime_get_ns reads.
func bootOffset() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(time.Now().UnixNano() - ts.Nano())
}

// Close detaches the programs and frees the maps. It is safe to call more than once.
func (s *Sensor) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		if s.reader != nil {
			errs = append(errs, s.reader.Close())
		}
		for _, l := range s.links {
			errs = append(errs, l.Close())
		}
		errs = append(errs, s.objs.Close())
	})
	return errors.Join(errs...)
}

// Drops counts the events the kernel could not put in the ring buffer (it was full because
// user space fell behind), by kind, since the sensor was loaded.
type Drops map[event.Kind]uint64

// Total is the number of events lost of every kind.
func (d Drops) Total() uint64 {
	var n uint64
	for _, v := range d {
		n += v
	}
	return n
}

// Drops reads the per-CPU loss counters and sums them.
func (s *Sensor) Drops() (Drops, error) {
	out := Drops{}
	for t, kind := range kinds {
		var perCPU []uint64
		if err := s.objs.Drops.Lookup(uint32(t), &perCPU); err != nil {
			return nil, fmt.Errorf("reading the loss counters: %w", err)
		}
		for _, v := range perCPU {
			out[kind] += v
		}
	}
	return out, nil
}

// Options shape what Run reports.
type Options struct {
	// Origin attributes a cgroup id to a node, container and pod; nil leaves Origin empty.
	Origin func(cgroupID uint64) event.Origin
	// Network places remote addresses (pod, service, external).
	Network event.Network
	// OnDrops is called, at most once a second, when the loss counters have grown.
	OnDrops func(Drops)
	// Idle is called when the ring buffer has been drained: the moment to flush output.
	Idle func()
}

// Run reads events until ctx is done and hands each to emit, in the order the kernel
// committed them. It blocks in the kernel while there is nothing to read (no polling).
func (s *Sensor) Run(ctx context.Context, opts Options, emit func(*event.Event)) error {
	// Stopping flushes the reader rather than closing it: Flush only wakes the blocked Read,
	// which then drains what is in the buffer and returns ErrFlushed; closing would unmap the
	// ring under the reading goroutine.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			s.reader.Flush()
		case <-done:
		}
	}()
	defer wg.Wait()
	defer close(done)

	var (
		rec       ringbuf.Record
		lastDrops uint64
		lastCheck time.Time
	)
	// After reading, look again within tailWait even without a wake-up: the kernel wakes the
	// reader at most every 10 ms during a burst (see sensor.bpf.c), so the last events of a
	// burst may be waiting unannounced. When a look finds nothing, block: no polling when idle.
	const tailWait = 15 * time.Millisecond
	for {
		if err := s.reader.ReadInto(&rec); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				s.reader.SetDeadline(time.Time{})
				continue
			}
			if errors.Is(err, ringbuf.ErrFlushed) && ctx.Err() == nil {
				continue // a flush someone else asked for
			}
			if errors.Is(err, ringbuf.ErrClosed) || ctx.Err() != nil {
				s.reportDrops(opts, &lastDrops)
				return nil
			}
			return fmt.Errorf("reading the event ring buffer: %w", err)
		}
		ev, err := s.decode(rec.RawSample)
		if err != nil {
			return err
		}
		if ev == nil {
			continue
		}
		if opts.Origin != nil {
			ev.Origin = opts.Origin(ev.Process.CgroupID)
		}
		if ev.Conn != nil {
			ev.Conn.Scope = opts.Network.Scope(ev.Conn.Remote.Addr())
		}
		emit(ev)
		if s.reader.AvailableBytes() == 0 {
			s.reader.SetDeadline(time.Now().Add(tailWait))
			if opts.Idle != nil {
				opts.Idle()
			}
		}
		if opts.OnDrops != nil && time.Since(lastCheck) >= time.Second {
			lastCheck = time.Now()
			s.reportDrops(opts, &lastDrops)
		}
	}
}

func (s *Sensor) reportDrops(opts Options, last *uint64) {
	if opts.OnDrops == nil {
		return
	}
	d, err := s.Drops()
	if err != nil || d.Total() == *last {
		return
	}
	*last = d.Total()
	opts.OnDrops(d)
}
