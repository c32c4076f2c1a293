package agent

import (
	"encoding/json"
	"io"
	"net/netip"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/runtime/cgroup"
	"redoubt.dev/redoubt/internal/runtime/detect"
	"redoubt.dev/redoubt/internal/runtime/event"
	"redoubt.dev/redoubt/internal/runtime/origin"
)

// BenchmarkPipeline measures what the agent does per event in user space after decoding:
// attribution (cached after the first event of a cgroup), every detection, and the JSON line.
// Its inverse is the sustained event rate past which the ring buffer fills and events are
// lost (the buffer absorbs bursts: about 9,000 execs or 70,000 connects).
func BenchmarkPipeline(b *testing.B) {
	root, err := cgroup.Unified()
	if err != nil {
		b.Skip(err)
	}
	res := cgroup.NewResolver(root)
	defer res.Close()
	attr := origin.NewAttributor("bench", res, nil)
	det := detect.New()
	enc := json.NewEncoder(io.Discard)
	execEv := event.Event{Kind: event.KindExec, Time: time.Now(), Process: event.Process{PID: 10, PPID: 1, Comm: "true", CgroupID: 1},
		Exec: &event.Exec{Binary: "/usr/bin/true", Args: []string{"true", "--flag", "value"}}}
	connEv := event.Event{Kind: event.KindConnect, Time: time.Now(), Process: event.Process{PID: 10, PPID: 1, Comm: "curl", CgroupID: 1},
		Conn: &event.Conn{Socket: event.Socket{Family: event.FamilyIPv4, Protocol: "tcp",
			Local: netip.MustParseAddrPort("10.0.0.1:40000"), Remote: netip.MustParseAddrPort("10.0.0.2:80")}, Established: true}}
	for _, tc := range []struct {
		name string
		ev   *event.Event
	}{{"exec", &execEv}, {"connect", &connEv}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e := *tc.ev
				e.Origin = attr.Origin(e.Process.CgroupID)
				det.Observe(&e)
				if err := enc.Encode(&e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
