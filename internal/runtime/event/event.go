// Package event holds what the sensor reports: one Event type for every kernel observation
// (exec, exit, connect, accept, a socket duplicated onto stdio), the process that caused it,
// and where that process runs (node, cgroup, container, pod). Sources fill events (the eBPF
// sensor, recorded JSON lines in tests); detections read them.
package event

import (
	"net/netip"
	"time"
)

// Kind says what happened.
type Kind string

// The kinds of event.
const (
	KindExec    Kind = "exec"
	KindExit    Kind = "exit"
	KindConnect Kind = "connect"
	KindAccept  Kind = "accept"
	KindDup     Kind = "dup"
)

// Event is one kernel observation, attributed.
type Event struct {
	Kind    Kind      `json:"kind"`
	Time    time.Time `json:"time"`
	Process Process   `json:"process"`
	Origin  Origin    `json:"origin"`
	Exec    *Exec     `json:"exec,omitempty"`
	Exit    *Exit     `json:"exit,omitempty"`
	// Conn is set on connect and accept events.
	Conn *Conn `json:"conn,omitempty"`
	Dup  *Dup  `json:"dup,omitempty"`
}

// Process is the task that caused the event, as the kernel saw it at that moment.
type Process struct {
	PID  uint32 `json:"pid"`
	TID  uint32 `json:"tid,omitempty"`
	PPID uint32 `json:"ppid"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	// Comm is the kernel's 15-byte task name (the binary's base name after an exec).
	Comm string `json:"comm"`
	// CgroupID is the cgroup v2 id: the inode number of the process's cgroup directory.
	CgroupID uint64 `json:"cgroupId"`
}

// Origin says where the process runs. Standalone, the sensor knows the node, the cgroup path
// and what the path encodes (container id, runtime, pod UID); with an API server it adds the
// pod, namespace, workload and container name. A process outside any container has only Node
// and CgroupPath: it belongs to the node.
type Origin struct {
	Node        string `json:"node,omitempty"`
	CgroupPath  string `json:"cgroupPath,omitempty"`
	ContainerID string `json:"containerId,omitempty"`
	// Runtime is the container runtime the cgroup name points to: containerd, cri-o, docker,
	// or empty when the path does not say (the kubelet's cgroupfs driver).
	Runtime   string `json:"runtime,omitempty"`
	PodUID    string `json:"podUid,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Container string `json:"container,omitempty"`
	// WorkloadKind and Workload name the pod's owner (Deployment, StatefulSet, DaemonSet, Job,
	// ...), or the pod itself when it has none.
	WorkloadKind string `json:"workloadKind,omitempty"`
	Workload     string `json:"workload,omitempty"`
}

// InContainer reports whether the process runs in a container rather than on the node.
func (o Origin) InContainer() bool { return o.ContainerID != "" || o.PodUID != "" }

// Exec is a successful execve or execveat.
type Exec struct {
	// Binary is the path the program was executed by, as passed to execve (resolved through
	// /proc/PID/exe when relative and the process still runs).
	Binary string   `json:"binary"`
	Args   []string `json:"args"`
	// ArgsTruncated is set when argv was longer than the sensor copies (512 bytes).
	ArgsTruncated bool `json:"argsTruncated,omitempty"`
	// Stdio describes file descriptors 0, 1 and 2 after the exec.
	Stdio [3]FD `json:"stdio"`
	// StdioPeer is the first network socket among fds 0..2, or nil.
	StdioPeer *Socket `json:"stdioPeer,omitempty"`
}

// FD describes one standard file descriptor.
type FD struct {
	Socket bool `json:"socket,omitempty"`
	// Family is the socket's address family: ipv4, ipv6, unix, or a number.
	Family string `json:"family,omitempty"`
}

// NetworkSocket reports whether the descriptor is an IPv4 or IPv6 socket.
func (f FD) NetworkSocket() bool { return f.Family == FamilyIPv4 || f.Family == FamilyIPv6 }

// Address families as events spell them.
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
	FamilyUnix = "unix"
)

// Exit is the end of a process (all its threads).
type Exit struct {
	// Code is the exit status (0-255) when the process exited, Signal the signal that killed it.
	Code   int `json:"code"`
	Signal int `json:"signal,omitempty"`
}

// Socket is one end of a network connection, seen from the process: local then remote.
type Socket struct {
	Family   string         `json:"family"`
	Protocol string         `json:"protocol,omitempty"`
	Local    netip.AddrPort `json:"local"`
	Remote   netip.AddrPort `json:"remote"`
}

// Conn is a TCP connection the process opened (connect) or accepted.
type Conn struct {
	Socket
	// Established is false for a connect whose handshake failed (refused, timed out).
	Established bool `json:"established"`
	// Scope places the remote address: loopback, pod, service, or external, from the CIDRs
	// the sensor was given; empty when none were given.
	Scope string `json:"scope,omitempty"`
}

// Dup is a network socket duplicated onto standard input, output or error (dup2, dup3).
type Dup struct {
	OldFD  int    `json:"oldFd"`
	NewFD  int    `json:"newFd"`
	Socket Socket `json:"socket"`
}
