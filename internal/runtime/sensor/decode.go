package sensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"structs"
	"time"
	"unsafe"

	"redoubt.dev/redoubt/internal/runtime/event"
)

// Event types as the C side numbers them (enum event_type in sensor.bpf.c).
const (
	typeExec    = 1
	typeExit    = 2
	typeConnect = 3
	typeAccept  = 4
	typeDup     = 5
)

// kinds maps the C event type to its kind; index is the key of the drops map.
var kinds = map[int]event.Kind{
	typeExec: event.KindExec, typeExit: event.KindExit, typeConnect: event.KindConnect,
	typeAccept: event.KindAccept, typeDup: event.KindDup,
}

// Record sizes: the C structs' sizeof, which the Go twins bpf2go generates match field for
// field (structs.HostLayout), padding included.
const (
	sizeHeader = int(unsafe.Sizeof(bpfHeader{}))
	sizeExec   = int(unsafe.Sizeof(bpfExecEvent{}))
	sizeExit   = int(unsafe.Sizeof(bpfExitEvent{}))
	sizeConn   = int(unsafe.Sizeof(bpfConnEvent{}))
	sizeDup    = int(unsafe.Sizeof(bpfDupEvent{}))
)

// load copies a record into its Go twin. The record was written by the same machine's
// kernel, so it is in native byte order and layout; a copy is what binary.Decode would do,
// without reflecting over 768 bytes of path and argv one element at a time.
func load[T any](raw []byte, v *T) {
	copy(unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)), raw)
}

// decode turns one ring-buffer record into an event. A record of an unknown type is skipped
// (nil, nil); a record too short for its type is an error: the object and the Go types
// disagree, which TestObjectsMatchSources exists to prevent.
func (s *Sensor) decode(raw []byte) (*event.Event, error) {
	if len(raw) < sizeHeader {
		return nil, fmt.Errorf("ring buffer record of %d bytes is shorter than an event header (%d)", len(raw), sizeHeader)
	}
	typ := binary.NativeEndian.Uint32(raw[16:20])
	var need int
	switch typ {
	case typeExec:
		need = sizeExec
	case typeExit:
		need = sizeExit
	case typeConnect, typeAccept:
		need = sizeConn
	case typeDup:
		need = sizeDup
	default:
		return nil, nil
	}
	if len(raw) < need {
		return nil, fmt.Errorf("ring buffer record of type %d has %d bytes, want %d: the eBPF object and its Go types disagree", typ, len(raw), need)
	}
	switch typ {
	case typeExec:
		var e bpfExecEvent
		load(raw, &e)
		return s.execEvent(&e), nil
	case typeExit:
		var e bpfExitEvent
		load(raw, &e)
		ev := s.base(&e.H, event.KindExit)
		// The kernel's wait status: exit code in bits 8-15, terminating signal in 0-6.
		ev.Exit = &event.Exit{Code: int(e.ExitCode>>8) & 0xff, Signal: int(e.ExitCode & 0x7f)}
		return ev, nil
	case typeConnect, typeAccept:
		var e bpfConnEvent
		load(raw, &e)
		kind := event.KindConnect
		if typ == typeAccept {
			kind = event.KindAccept
		}
		ev := s.base(&e.H, kind)
		ev.Conn = &event.Conn{Socket: socket(e.T), Established: e.Established != 0}
		return ev, nil
	default:
		var e bpfDupEvent
		load(raw, &e)
		ev := s.base(&e.H, event.KindDup)
		ev.Dup = &event.Dup{OldFD: int(e.Oldfd), NewFD: int(e.Newfd), Socket: socket(e.T)}
		return ev, nil
	}
}

func (s *Sensor) base(h *bpfHeader, kind event.Kind) *event.Event {
	return &event.Event{
		Kind: kind,
		Time: time.Unix(0, int64(h.TsNs)+int64(s.bootOffset)).UTC(),
		Process: event.Process{
			PID: h.Pid, TID: h.Tid, PPID: h.Ppid, UID: h.Uid, GID: h.Gid,
			Comm: cString(h.Comm[:]), CgroupID: h.CgroupId,
		},
	}
}

func (s *Sensor) execEvent(e *bpfExecEvent) *event.Event {
	ev := s.base(&e.H, event.KindExec)
	x := &event.Exec{
		Binary:        cString(e.Filename[:]),
		Args:          splitArgs(e.Args[:min(int(e.ArgsLen), len(e.Args))]),
		ArgsTruncated: e.ArgsTruncated != 0,
	}
	if x.Binary != "" && !filepath.IsAbs(x.Binary) {
		// execve("./x") or execveat(fd, ""): the kernel's path is relative; the process's
		// exe link says where the binary is, while the process lives.
		if p, err := os.Readlink("/proc/" + strconv.FormatUint(uint64(ev.Process.PID), 10) + "/exe"); err == nil {
			x.Binary = p
		}
	}
	for fd := range 3 {
		if e.StdioSockets&(1<<fd) != 0 {
			x.Stdio[fd] = event.FD{Socket: true, Family: familyName(e.StdioFamily[fd])}
		}
	}
	if e.StdioPeer.Family != 0 {
		sock := socket(e.StdioPeer)
		x.StdioPeer = &sock
	}
	ev.Exec = x
	return ev
}

// tuple is the C struct tuple, as bpf2go spells it in each event.
type tuple = struct {
	_        structs.HostLayout
	Saddr    [16]uint8
	Daddr    [16]uint8
	Sport    uint16
	Dport    uint16
	Family   uint16
	SockType uint16
}

func socket(t tuple) event.Socket {
	s := event.Socket{Family: familyName(t.Family)}
	switch t.SockType {
	case 1:
		s.Protocol = "tcp"
	case 2:
		s.Protocol = "udp"
	}
	switch t.Family {
	case 2:
		s.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(t.Saddr[:4])), t.Sport)
		s.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(t.Daddr[:4])), t.Dport)
	case 10:
		s.Local = netip.AddrPortFrom(netip.AddrFrom16(t.Saddr), t.Sport)
		s.Remote = netip.AddrPortFrom(netip.AddrFrom16(t.Daddr), t.Dport)
	}
	return s
}

func familyName(f uint16) string {
	switch f {
	case 0:
		return ""
	case 1:
		return event.FamilyUnix
	case 2:
		return event.FamilyIPv4
	case 10:
		return event.FamilyIPv6
	}
	return strconv.Itoa(int(f))
}

func cString[T int8 | uint8](b []T) string {
	buf := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		buf = append(buf, byte(c))
	}
	return string(buf)
}

// splitArgs splits the NUL-separated argv block the kernel keeps between arg_start and arg_end.
func splitArgs(b []int8) []string {
	raw := bytes.TrimRight(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b)), "\x00")
	if len(raw) == 0 {
		return nil
	}
	parts := bytes.Split(raw, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}
