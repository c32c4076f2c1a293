package sensor

import (
	"net/netip"
	"slices"
	"testing"
	"unsafe"

	"redoubt.dev/redoubt/internal/runtime/event"
)

func raw[T any](v *T) []byte {
	return slices.Clone(unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)))
}

func putString(dst []int8, s string) {
	for i := range min(len(s), len(dst)) {
		dst[i] = int8(s[i])
	}
}

func execRecord() []byte {
	var e bpfExecEvent
	e.H.Type, e.H.Pid, e.H.Ppid, e.H.Uid, e.H.CgroupId = typeExec, 42, 41, 1000, 7
	putString(e.H.Comm[:], "bash")
	putString(e.Filename[:], "/usr/bin/bash")
	args := "bash\x00-i\x00\x00"
	putString(e.Args[:], args)
	e.ArgsLen = uint32(len(args))
	e.StdioSockets = 0b111
	e.StdioFamily = [3]uint16{2, 2, 1}
	e.StdioPeer.Family, e.StdioPeer.SockType = 2, 1
	copy(e.StdioPeer.Saddr[:], []byte{127, 0, 0, 1})
	copy(e.StdioPeer.Daddr[:], []byte{203, 0, 113, 9})
	e.StdioPeer.Sport, e.StdioPeer.Dport = 40112, 4444
	return raw(&e)
}

func TestDecode(t *testing.T) {
	s := &Sensor{}
	ev, err := s.decode(execRecord())
	if err != nil {
		t.Fatal(err)
	}
	x := ev.Exec
	if ev.Kind != event.KindExec || ev.Process.PID != 42 || ev.Process.PPID != 41 || ev.Process.UID != 1000 || ev.Process.Comm != "bash" || ev.Process.CgroupID != 7 {
		t.Errorf("process %+v", ev.Process)
	}
	if x.Binary != "/usr/bin/bash" || !slices.Equal(x.Args, []string{"bash", "-i"}) {
		t.Errorf("binary %q args %q", x.Binary, x.Args)
	}
	if !x.Stdio[0].NetworkSocket() || !x.Stdio[1].NetworkSocket() || x.Stdio[2].Family != event.FamilyUnix || x.Stdio[2].NetworkSocket() {
		t.Errorf("stdio %+v", x.Stdio)
	}
	if p := x.StdioPeer; p == nil || p.Remote != netip.MustParseAddrPort("203.0.113.9:4444") || p.Local != netip.MustParseAddrPort("127.0.0.1:40112") || p.Protocol != "tcp" {
		t.Errorf("peer %+v", x.StdioPeer)
	}

	var c bpfConnEvent
	c.H.Type = typeAccept
	c.T.Family = 10
	c.T.Saddr = netip.MustParseAddr("fd00::1").As16()
	c.T.Daddr = netip.MustParseAddr("fd00::2").As16()
	c.T.Sport, c.T.Dport, c.Established = 8080, 51000, 1
	ev, err = s.decode(raw(&c))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != event.KindAccept || ev.Conn.Local.String() != "[fd00::1]:8080" || ev.Conn.Remote.String() != "[fd00::2]:51000" || !ev.Conn.Established || ev.Conn.Family != event.FamilyIPv6 {
		t.Errorf("accept %+v", ev.Conn)
	}

	var x2 bpfExitEvent
	x2.H.Type, x2.ExitCode = typeExit, 3<<8
	if ev, _ = s.decode(raw(&x2)); ev.Exit.Code != 3 || ev.Exit.Signal != 0 {
		t.Errorf("exit %+v", ev.Exit)
	}
	x2.ExitCode = 9
	if ev, _ = s.decode(raw(&x2)); ev.Exit.Signal != 9 {
		t.Errorf("killed: %+v", ev.Exit)
	}

	if _, err := s.decode(execRecord()[:100]); err == nil {
		t.Error("a truncated exec record decodes without error")
	}
	if ev, err := s.decode(make([]byte, sizeHeader)); ev != nil || err != nil {
		t.Errorf("an unknown type gives %v, %v; want it skipped", ev, err)
	}
}

// FuzzDecode feeds arbitrary records: argv and paths are what any process on the node
// chooses, so decoding must never panic whatever the bytes.
func FuzzDecode(f *testing.F) {
	f.Add(execRecord())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &Sensor{}
		s.decode(b)
		if len(b) >= 20 {
			b[16] = typeExec
			s.decode(b)
		}
	})
}

func BenchmarkDecodeExec(b *testing.B) {
	s := &Sensor{}
	rec := execRecord()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.decode(rec); err != nil {
			b.Fatal(err)
		}
	}
}
