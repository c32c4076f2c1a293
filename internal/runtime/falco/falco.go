// Package falco turns Falco's alerts into Redoubt findings, so that a team running Falco gets
// Redoubt's exceptions, history and reports over the alerts it already has. It reads Falco's
// JSON output (json_output: true; one alert per line, as written to stdout, a file output or
// the program output), and maps each alert to the workload it came from by the pod's
// namespace and name (k8s.ns.name, k8s.pod.name) or the container ID (container.id).
//
// Falco priorities become severities:
//
//	Emergency, Alert, Critical  -> critical
//	Error                       -> high
//	Warning                     -> medium
//	Notice                      -> low
//	Informational, Debug        -> info
//
// Repeats of one Falco rule on one container are one finding with a count.
package falco

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/runtime/jsonl"
	"redoubt.dev/redoubt/internal/runtime/podmap"
)

// Alert is one Falco alert in its JSON output format.
type Alert struct {
	Time         time.Time      `json:"time"`
	Rule         string         `json:"rule"`
	Priority     string         `json:"priority"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Hostname     string         `json:"hostname"`
}

var alertRule = finding.Register(finding.Rule{
	ID:       "falco-alert",
	Title:    "Falco alert",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Medium,
	Description: "Falco, watching the nodes' system calls, raised an alert for a workload: a Falco rule " +
		"(named in the finding) matched what a container did. The severity follows the Falco priority " +
		"(Emergency, Alert and Critical: critical; Error: high; Warning: medium; Notice: low; " +
		"Informational and Debug: info).",
	Remediation: "Investigate the process and container named; if the behaviour is expected, tune the Falco " +
		"rule or add a Redoubt exception for this check and workload with a reason and an expiry.",
	References: []string{"falco:rules"},
})

// Severity maps a Falco priority (any case) to a severity; an unknown priority is medium.
func Severity(priority string) finding.Severity {
	switch strings.ToLower(priority) {
	case "emergency", "alert", "critical":
		return finding.Critical
	case "error":
		return finding.High
	case "warning":
		return finding.Medium
	case "notice":
		return finding.Low
	case "informational", "info", "debug":
		return finding.Info
	}
	return finding.Medium
}

// field returns an output field as a string; Falco writes null or "<NA>" for unknown values.
func (a *Alert) field(name string) string {
	v, ok := a.OutputFields[name]
	if !ok || v == nil {
		return ""
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = fmt.Sprint(int64(x))
	default:
		s = fmt.Sprint(x)
	}
	if s == "<NA>" {
		return ""
	}
	return s
}

var mitreTag = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// Decode parses one line of Falco's JSON output.
func Decode(line []byte) (*Alert, error) {
	if len(line) == 0 || line[0] != '{' {
		return nil, fmt.Errorf("not a JSON object (Falco's json_output writes one alert per line)")
	}
	var a Alert
	if err := json.Unmarshal(line, &a); err != nil {
		return nil, fmt.Errorf("not a Falco alert: %v", err)
	}
	if a.Rule == "" || a.Priority == "" {
		return nil, fmt.Errorf("not a Falco alert: no rule or priority")
	}
	return &a, nil
}

// Ingester turns alerts into findings, aggregating repeats. It keeps at most MaxFindings
// distinct findings.
type Ingester struct {
	Mapper      *podmap.Mapper
	MaxFindings int
	// HostAlerts are alerts that named no pod or container (the node itself), counted, not reported.
	HostAlerts int
	Dropped    int

	reader jsonl.Reader
	byKey  map[string]int
	out    []finding.Finding
}

// NewIngester returns an ingester mapping pods with m (nil maps nothing).
func NewIngester(m *podmap.Mapper) *Ingester {
	return &Ingester{Mapper: m, MaxFindings: 10_000, byKey: map[string]int{}}
}

// Read ingests every alert of src, named name in problems.
func (in *Ingester) Read(ctx context.Context, name string, src io.Reader) error {
	return in.reader.Each(ctx, name, src, func(line []byte, n int) error {
		a, err := Decode(line)
		if err != nil {
			return err
		}
		in.Add(a, name, n)
		return nil
	})
}

// Problems returns the bad lines read so far.
func (in *Ingester) Problems() []inventory.Problem { return in.reader.Problems() }

// Add ingests one alert read from file at line (both may be empty).
func (in *Ingester) Add(a *Alert, file string, line int) {
	res, ok := in.Mapper.Resource(podmap.Pod{
		Namespace: a.field("k8s.ns.name"), Name: a.field("k8s.pod.name"),
		Container: a.field("container.name"), ContainerID: a.field("container.id"),
	})
	if !ok {
		// A container outside Kubernetes, or the host: name the container when there is one.
		id := a.field("container.id")
		if id == "" || id == "host" {
			in.HostAlerts++
			return
		}
		res = finding.Resource{Kind: "Container", Name: id, Container: a.field("container.name")}
	}
	cmd := a.field("proc.cmdline")
	key := a.Rule + "\x00" + res.String() + "\x00" + cmd
	if i, seen := in.byKey[key]; seen {
		f := &in.out[i]
		f.Evidence["count"] = f.Evidence["count"].(int) + 1
		f.Evidence["lastSeen"] = a.Time.UTC().Format(time.RFC3339Nano)
		if s := Severity(a.Priority); s > f.Severity {
			f.Severity = s
		}
		return
	}
	if len(in.out) >= in.MaxFindings {
		in.Dropped++
		return
	}
	msg := fmt.Sprintf("Falco rule %q (%s)", a.Rule, a.Priority)
	if cmd != "" {
		msg += fmt.Sprintf(": %s", truncate(cmd, 200))
	}
	if u := a.field("user.name"); u != "" {
		msg += fmt.Sprintf(" as user %s", u)
	}
	if img := a.field("container.image.repository"); img != "" {
		msg += " in image " + img
		if tag := a.field("container.image.tag"); tag != "" {
			msg += ":" + tag
		}
	}
	if a.Hostname != "" {
		msg += " on node " + a.Hostname
	}
	msg += " at " + a.Time.UTC().Format(time.RFC3339)
	f := alertRule.New(res, finding.Location{File: file, Line: line, Node: a.Hostname}, msg)
	f.Severity = Severity(a.Priority)
	for _, t := range a.Tags {
		if mitreTag.MatchString(t) && !slices.Contains(f.References, "mitre:"+t) {
			f.References = append(f.References, "mitre:"+t)
		}
	}
	fields := make(map[string]any, len(a.OutputFields))
	for k := range a.OutputFields {
		if s := a.field(k); s != "" {
			fields[k] = truncate(s, 1024)
		}
	}
	f.Evidence = map[string]any{
		"falcoRule": a.Rule, "priority": a.Priority, "source": a.Source, "output": truncate(a.Output, 2048),
		"outputFields": fields, "tags": a.Tags, "count": 1,
		"firstSeen": a.Time.UTC().Format(time.RFC3339Nano), "lastSeen": a.Time.UTC().Format(time.RFC3339Nano),
	}
	in.byKey[key] = len(in.out)
	in.out = append(in.out, f)
}

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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
