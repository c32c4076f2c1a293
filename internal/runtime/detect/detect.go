// Package detect holds the runtime detections: Go rules over the sensor's events, each a
// registered rule (phase runtime) in its own file. They need no kernel: tests feed recorded
// events. A Detector keeps the little state the rules share (the processes seen, the sockets
// duplicated onto stdio), bounded, and turns each event into zero or more alerts.
package detect

import (
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/runtime/event"
)

// Alert is a finding raised by a detection, with the time of the event that raised it. It
// marshals as the finding's fields plus "kind":"alert" and "time", one JSON object per line
// beside the events.
type Alert struct {
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	finding.Finding
}

// detection is one rule's logic: it reads the event (and the detector's state) and returns
// the findings it raises.
type detection func(d *Detector, e *event.Event) []finding.Finding

// detections is the registry the rule files fill at init.
var detections []detection

func register(fn detection) { detections = append(detections, fn) }

// maxProcesses bounds the process table. A node runs a few thousand processes; past the
// bound the oldest knowledge is dropped, which only costs parent names in explanations.
const maxProcesses = 1 << 16

// Detector runs every detection over a stream of events. It is safe for concurrent use.
type Detector struct {
	mu    sync.Mutex
	procs map[uint32]*process
	// shellSockets are the sockets reverse-shell alerts named: every later shell on the same
	// connection is the same session (subshells fork without exec, so the tree has gaps).
	shellSockets map[string]bool
}

// maxShellSockets bounds shellSockets; past it the set starts over, which at worst repeats
// an alert for a session that is still going.
const maxShellSockets = 4096

// process is what the detector remembers about a live process.
type process struct {
	pid, ppid uint32
	binary    string
	args      []string
	// stdioDups holds, for fd 0, 1 and 2, the network socket last duplicated onto it, or nil.
	stdioDups [3]*event.Dup
	// conn is the process's last established TCP connection (connect or accept), or nil.
	conn *event.Socket
	// reverseShell is the socket of the reverse shell this process belongs to (it raised the
	// alert, or descends from one that did), so the shells it starts do not alert again.
	reverseShell string
}

// New returns a detector with no history.
func New() *Detector {
	return &Detector{procs: map[uint32]*process{}, shellSockets: map[string]bool{}}
}

// Observe updates the detector's state with e and returns the alerts e raises.
func (d *Detector) Observe(e *event.Event) []Alert {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Alert
	for _, fn := range detections {
		for _, f := range fn(d, e) {
			out = append(out, Alert{Kind: "alert", Time: e.Time, Finding: f})
		}
	}
	d.update(e)
	return out
}

// update records e after the detections saw it, so they compare an event with the state
// before it.
func (d *Detector) update(e *event.Event) {
	pid := e.Process.PID
	switch e.Kind {
	case event.KindExec:
		p := d.proc(pid)
		p.ppid = e.Process.PPID
		p.binary, p.args = e.Exec.Binary, e.Exec.Args
	case event.KindDup:
		p := d.proc(pid)
		p.ppid = e.Process.PPID
		if fd := e.Dup.NewFD; fd >= 0 && fd <= 2 {
			dup := *e.Dup
			p.stdioDups[fd] = &dup
		}
	case event.KindConnect, event.KindAccept:
		if e.Conn.Established {
			p := d.proc(pid)
			p.ppid = e.Process.PPID
			sock := e.Conn.Socket
			p.conn = &sock
		}
	case event.KindExit:
		delete(d.procs, pid)
	}
}

func (d *Detector) proc(pid uint32) *process {
	if p, ok := d.procs[pid]; ok {
		return p
	}
	if len(d.procs) >= maxProcesses {
		// Forget an arbitrary eighth: cheaper than an LRU and as good for explanations.
		n := 0
		for k := range d.procs {
			delete(d.procs, k)
			if n++; n >= maxProcesses/8 {
				break
			}
		}
	}
	p := &process{pid: pid}
	d.procs[pid] = p
	return p
}

// resource names what an alert is about: the workload and container when the API server
// said, else the container or pod the cgroup path names, else the node.
func resource(o event.Origin) finding.Resource {
	switch {
	case o.Workload != "":
		return finding.Resource{Namespace: o.Namespace, Kind: o.WorkloadKind, Name: o.Workload, Container: o.Container}
	case o.ContainerID != "":
		return finding.Resource{Kind: "Container", Name: o.ContainerID}
	case o.PodUID != "":
		return finding.Resource{Kind: "Pod", Name: o.PodUID}
	}
	return finding.Resource{Kind: "Node", Name: o.Node}
}

// newFinding fills what every runtime alert carries: where, and the process tree.
func (d *Detector) newFinding(r *finding.Rule, e *event.Event, message string) finding.Finding {
	f := r.New(resource(e.Origin), finding.Location{Node: e.Origin.Node, UID: e.Origin.PodUID}, message)
	f.Evidence = map[string]any{
		"origin":  e.Origin,
		"process": d.describe(e),
	}
	if parent := d.parent(e); parent != nil {
		f.Evidence["parent"] = parent
	}
	return f
}

// processEvidence is how alerts show a process.
type processEvidence struct {
	PID    uint32   `json:"pid"`
	PPID   uint32   `json:"ppid,omitempty"`
	UID    *uint32  `json:"uid,omitempty"`
	Binary string   `json:"binary,omitempty"`
	Args   []string `json:"args,omitempty"`
	Comm   string   `json:"comm,omitempty"`
}

func (d *Detector) describe(e *event.Event) processEvidence {
	uid := e.Process.UID
	p := processEvidence{PID: e.Process.PID, PPID: e.Process.PPID, UID: &uid, Comm: e.Process.Comm}
	if e.Exec != nil {
		p.Binary, p.Args = e.Exec.Binary, e.Exec.Args
	} else if known, ok := d.procs[e.Process.PID]; ok {
		p.Binary, p.Args = known.binary, known.args
	}
	return p
}

func (d *Detector) parent(e *event.Event) *processEvidence {
	p, ok := d.procs[e.Process.PPID]
	if !ok || e.Process.PPID == 0 {
		return nil
	}
	return &processEvidence{PID: p.pid, PPID: p.ppid, Binary: p.binary, Args: p.args}
}

// commandLine renders a process for a message: its argv, or its binary, quoted when long.
func commandLine(binary string, args []string) string {
	s := strings.Join(args, " ")
	if s == "" {
		s = binary
	}
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// parentPhrase is ", parent \"bash\" (pid 12)" when the parent is known, else ", parent pid 12".
func (d *Detector) parentPhrase(e *event.Event) string {
	if p := d.parent(e); p != nil && p.Binary != "" {
		return fmt.Sprintf(", parent %s (pid %d)", path.Base(p.Binary), p.PID)
	}
	return fmt.Sprintf(", parent pid %d", e.Process.PPID)
}
