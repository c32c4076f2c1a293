// Package tetragon turns Tetragon's JSON export (the export file, or `tetra getevents -o json`:
// one event per line) into Redoubt findings and network flows. Tetragon attributes each event
// to its pod (namespace, name, container, and the owning workload); the mapping to Redoubt's
// workloads uses a live snapshot when there is one (podmap), and Tetragon's own attribution
// otherwise.
//
// What becomes a finding:
//   - process_exec of a shell (sh, bash, dash, ash, zsh, ksh, csh, tcsh, fish, busybox sh) in a
//     container: tetragon-shell-in-container, medium (MITRE ATT&CK T1059, Command and Scripting
//     Interpreter);
//   - a process_kprobe, process_tracepoint, process_uprobe or process_lsm event, i.e. a match of
//     one of the cluster's TracingPolicies, other than the network hooks that become flows:
//     tetragon-policy-event, low, or high when the policy's action enforced (SIGKILL, OVERRIDE,
//     NOTIFY_ENFORCER).
//
// process_kprobe events of tcp_connect (and the other TCP hooks with a sock argument) become
// flow records for `redoubt netpol traffic` instead.
package tetragon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/runtime/jsonl"
	"redoubt.dev/redoubt/internal/runtime/podmap"
)

// Event is one line of Tetragon's export: exactly one of the event fields is set.
type Event struct {
	ProcessExec       *ProcessExec `json:"process_exec,omitempty"`
	ProcessExit       *ProcessExec `json:"process_exit,omitempty"`
	ProcessKprobe     *PolicyEvent `json:"process_kprobe,omitempty"`
	ProcessTracepoint *PolicyEvent `json:"process_tracepoint,omitempty"`
	ProcessUprobe     *PolicyEvent `json:"process_uprobe,omitempty"`
	ProcessLSM        *PolicyEvent `json:"process_lsm,omitempty"`
	NodeName          string       `json:"node_name"`
	Time              time.Time    `json:"time"`
}

// ProcessExec is a process_exec (or process_exit) event.
type ProcessExec struct {
	Process *Process `json:"process"`
	Parent  *Process `json:"parent,omitempty"`
}

// PolicyEvent is a TracingPolicy hook firing: a kprobe, tracepoint, uprobe or LSM hook.
type PolicyEvent struct {
	Process      *Process `json:"process"`
	Parent       *Process `json:"parent,omitempty"`
	FunctionName string   `json:"function_name"`
	// Subsys and Event name a tracepoint.
	Subsys     string `json:"subsys,omitempty"`
	Event      string `json:"event,omitempty"`
	Args       []Arg  `json:"args,omitempty"`
	Action     string `json:"action,omitempty"`
	PolicyName string `json:"policy_name,omitempty"`
}

// Arg is one argument of a hook; only the socket argument is read.
type Arg struct {
	SockArg *Sock `json:"sock_arg,omitempty"`
}

// Sock is a socket argument.
type Sock struct {
	Family   string `json:"family"`
	Type     string `json:"type"`
	Protocol string `json:"protocol"`
	Saddr    string `json:"saddr"`
	Daddr    string `json:"daddr"`
	Sport    int32  `json:"sport"`
	Dport    int32  `json:"dport"`
	State    string `json:"state,omitempty"`
}

// Process is Tetragon's process, with its pod when it runs in one.
type Process struct {
	ExecID    string    `json:"exec_id"`
	PID       int64     `json:"pid"`
	UID       int64     `json:"uid"`
	Binary    string    `json:"binary"`
	Arguments string    `json:"arguments"`
	Cwd       string    `json:"cwd"`
	StartTime time.Time `json:"start_time"`
	Pod       *Pod      `json:"pod,omitempty"`
}

// Pod is the pod a process runs in.
type Pod struct {
	Namespace    string            `json:"namespace"`
	Name         string            `json:"name"`
	Container    *Container        `json:"container,omitempty"`
	PodLabels    map[string]string `json:"pod_labels,omitempty"`
	Workload     string            `json:"workload,omitempty"`
	WorkloadKind string            `json:"workload_kind,omitempty"`
}

// Container is the container a process runs in.
type Container struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Image *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"image,omitempty"`
}

var (
	shellRule = finding.Register(finding.Rule{
		ID:       "tetragon-shell-in-container",
		Title:    "Shell started in a container (Tetragon)",
		Phase:    finding.PhaseRuntime,
		Severity: finding.Medium,
		Description: "Tetragon saw a shell (sh, bash, dash, ash, zsh, ksh, csh, tcsh, fish) executed in a container. " +
			"Application containers rarely start shells; one usually means a person exec'd in or an attacker " +
			"got code execution.",
		Remediation: "Find who or what started the shell (the parent process is in the evidence, and the API " +
			"server's audit log names who exec'd in); build images without a shell where you can.",
		References: []string{"mitre:T1059"},
	})
	policyRule = finding.Register(finding.Rule{
		ID:       "tetragon-policy-event",
		Title:    "Tetragon TracingPolicy matched",
		Phase:    finding.PhaseRuntime,
		Severity: finding.Low,
		Description: "A Tetragon TracingPolicy of the cluster matched what a container did (a kprobe, tracepoint, " +
			"uprobe or LSM hook with its selectors). The policy names what it watches; an enforcing action " +
			"(SIGKILL, OVERRIDE) makes it high.",
		Remediation: "Investigate the process named; if the behaviour is expected, narrow the TracingPolicy's " +
			"selectors or add a Redoubt exception for this check and workload with a reason and an expiry.",
		References: []string{"tetragon:tracingpolicy"},
	})
)

var shells = []string{"sh", "bash", "dash", "ash", "zsh", "ksh", "csh", "tcsh", "fish"}

// networkHooks are the kernel functions whose sock argument is a connection: flows, not findings.
var networkHooks = []string{"tcp_connect", "tcp_close", "tcp_sendmsg", "tcp_v4_connect", "tcp_v6_connect", "inet_csk_accept"}

// Decode parses one line of the export.
func Decode(line []byte) (*Event, error) {
	if len(line) == 0 || line[0] != '{' {
		return nil, fmt.Errorf("not a JSON object (Tetragon's export has one event per line)")
	}
	var e Event
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, fmt.Errorf("not a Tetragon event: %v", err)
	}
	return &e, nil
}

// Flow is a connection a Tetragon network hook saw, in the simple flow format of
// internal/netpol/flow (JSON names as there).
type Flow struct {
	Time        string `json:"time,omitempty"`
	Src         string `json:"src"`
	Dst         string `json:"dst"`
	SrcPort     int32  `json:"srcPort,omitempty"`
	DstPort     int32  `json:"dstPort"`
	Protocol    string `json:"protocol"`
	SrcWorkload string `json:"srcWorkload,omitempty"`
}

// Ingester turns events into findings (aggregating repeats, at most MaxFindings distinct ones)
// and network hooks into flows (at most MaxFlows).
type Ingester struct {
	Mapper      *podmap.Mapper
	MaxFindings int
	MaxFlows    int
	// Events counts the events read; Ignored those that gave neither a finding nor a flow
	// (ordinary execs and exits, host processes).
	Events, Ignored int64
	Dropped         int

	reader jsonl.Reader
	byKey  map[string]int
	out    []finding.Finding
	flows  []Flow
}

// NewIngester returns an ingester mapping pods with m (nil maps nothing).
func NewIngester(m *podmap.Mapper) *Ingester {
	return &Ingester{Mapper: m, MaxFindings: 10_000, MaxFlows: 1_000_000, byKey: map[string]int{}}
}

// Read ingests every event of src, named name in problems.
func (in *Ingester) Read(ctx context.Context, name string, src io.Reader) error {
	return in.reader.Each(ctx, name, src, func(line []byte, n int) error {
		e, err := Decode(line)
		if err != nil {
			return err
		}
		in.Add(e, name, n)
		return nil
	})
}

// Problems returns the bad lines read so far.
func (in *Ingester) Problems() []inventory.Problem { return in.reader.Problems() }

// Flows returns the flows seen so far.
func (in *Ingester) Flows() []Flow { return in.flows }

// Findings returns the findings so far (exceptions not applied), sorted.
func (in *Ingester) Findings() []finding.Finding {
	out := slices.Clone(in.out)
	for i := range out {
		if n, _ := out[i].Evidence["count"].(int); n > 1 {
			out[i].Message += fmt.Sprintf(" (%d times, last %v)", n, out[i].Evidence["lastSeen"])
		}
	}
	finding.Sort(out)
	return out
}

func (in *Ingester) resource(p *Process) (finding.Resource, bool) {
	if p == nil || p.Pod == nil {
		return finding.Resource{}, false
	}
	q := podmap.Pod{Namespace: p.Pod.Namespace, Name: p.Pod.Name, Workload: p.Pod.Workload, WorkloadKind: p.Pod.WorkloadKind}
	if c := p.Pod.Container; c != nil {
		q.Container, q.ContainerID = c.Name, c.ID
	}
	return in.Mapper.Resource(q)
}

// Add ingests one event read from file at line.
func (in *Ingester) Add(e *Event, file string, line int) {
	in.Events++
	switch {
	case e.ProcessExec != nil:
		p := e.ProcessExec.Process
		if p == nil || !slices.Contains(shells, path.Base(p.Binary)) {
			in.Ignored++
			return
		}
		res, ok := in.resource(p)
		if !ok {
			in.Ignored++
			return
		}
		msg := fmt.Sprintf("shell %s %s started", p.Binary, truncate(p.Arguments, 200))
		if par := e.ProcessExec.Parent; par != nil && par.Binary != "" {
			msg += " by " + par.Binary
		}
		in.report(shellRule, shellRule.Severity, res, e, p, e.ProcessExec.Parent, msg, file, line, p.Binary+"\x00"+p.Arguments, nil)
	case policyEvent(e) != nil:
		pe, kind := policyEvent(e), eventKind(e)
		if slices.Contains(networkHooks, pe.FunctionName) {
			if in.flow(e, pe) {
				return
			}
		}
		res, ok := in.resource(pe.Process)
		if !ok {
			in.Ignored++
			return
		}
		hook := pe.FunctionName
		if hook == "" {
			hook = pe.Subsys + "/" + pe.Event
		}
		sev := policyRule.Severity
		switch pe.Action {
		case "KPROBE_ACTION_SIGKILL", "KPROBE_ACTION_OVERRIDE", "KPROBE_ACTION_NOTIFYENFORCER", "KPROBE_ACTION_NOTIFY_ENFORCER":
			sev = finding.High
		}
		msg := fmt.Sprintf("TracingPolicy %q matched %s %s", pe.PolicyName, kind, hook)
		if pe.Process != nil {
			msg += fmt.Sprintf(" by %s %s", pe.Process.Binary, truncate(pe.Process.Arguments, 200))
		}
		if pe.Action != "" {
			msg += " (action " + strings.TrimPrefix(pe.Action, "KPROBE_ACTION_") + ")"
		}
		in.report(policyRule, sev, res, e, pe.Process, pe.Parent, msg, file, line, pe.PolicyName+"\x00"+hook,
			map[string]any{"policy": pe.PolicyName, "hook": hook, "action": pe.Action})
	default:
		in.Ignored++
	}
}

func policyEvent(e *Event) *PolicyEvent {
	for _, p := range []*PolicyEvent{e.ProcessKprobe, e.ProcessTracepoint, e.ProcessUprobe, e.ProcessLSM} {
		if p != nil {
			return p
		}
	}
	return nil
}

func eventKind(e *Event) string {
	switch {
	case e.ProcessKprobe != nil:
		return "kprobe"
	case e.ProcessTracepoint != nil:
		return "tracepoint"
	case e.ProcessUprobe != nil:
		return "uprobe"
	}
	return "LSM hook"
}

// flow records a network hook's connection; false when the event has no usable socket.
func (in *Ingester) flow(e *Event, pe *PolicyEvent) bool {
	for _, a := range pe.Args {
		s := a.SockArg
		if s == nil {
			continue
		}
		src, err1 := netip.ParseAddr(s.Saddr)
		dst, err2 := netip.ParseAddr(s.Daddr)
		if err1 != nil || err2 != nil || s.Dport <= 0 || s.Dport > 65535 {
			continue
		}
		proto := strings.TrimPrefix(s.Protocol, "IPPROTO_")
		if proto == "" {
			proto = "TCP"
		}
		f := Flow{Src: src.String(), Dst: dst.String(), SrcPort: s.Sport, DstPort: s.Dport, Protocol: proto}
		if !e.Time.IsZero() {
			f.Time = e.Time.UTC().Format(time.RFC3339Nano)
		}
		if res, ok := in.resource(pe.Process); ok {
			f.SrcWorkload = res.Namespace + "/" + res.Kind + "/" + res.Name
		}
		if len(in.flows) < in.MaxFlows {
			in.flows = append(in.flows, f)
		} else {
			in.Dropped++
		}
		return true
	}
	return false
}

func (in *Ingester) report(rule *finding.Rule, sev finding.Severity, res finding.Resource, e *Event, p, parent *Process,
	msg, file string, line int, key string, extra map[string]any) {
	k := rule.ID + "\x00" + res.String() + "\x00" + key
	ts := e.Time.UTC().Format(time.RFC3339Nano)
	if i, seen := in.byKey[k]; seen {
		f := &in.out[i]
		f.Evidence["count"] = f.Evidence["count"].(int) + 1
		f.Evidence["lastSeen"] = ts
		return
	}
	if len(in.out) >= in.MaxFindings {
		in.Dropped++
		return
	}
	if e.NodeName != "" {
		msg += " on node " + e.NodeName
	}
	msg += " at " + e.Time.UTC().Format(time.RFC3339)
	f := rule.New(res, finding.Location{File: file, Line: line, Node: e.NodeName}, msg)
	f.Severity = sev
	ev := map[string]any{"count": 1, "firstSeen": ts, "lastSeen": ts}
	if p != nil {
		ev["binary"], ev["arguments"], ev["pid"], ev["uid"], ev["execID"] = p.Binary, truncate(p.Arguments, 1024), p.PID, p.UID, p.ExecID
		if p.Pod != nil && p.Pod.Container != nil {
			ev["containerID"] = p.Pod.Container.ID
			if p.Pod.Container.Image != nil {
				ev["image"] = p.Pod.Container.Image.Name
				f.Location.Image = p.Pod.Container.Image.Name
			}
		}
	}
	if parent != nil {
		ev["parentBinary"], ev["parentArguments"] = parent.Binary, truncate(parent.Arguments, 1024)
	}
	for k, v := range extra {
		ev[k] = v
	}
	f.Evidence = ev
	in.byKey[k] = len(in.out)
	in.out = append(in.out, f)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
