package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
)

// Options tune the detections. The zero value is usable: DefaultOptions fills what is unset.
type Options struct {
	// Cluster names the cluster the log came from, in every finding's resource.
	Cluster string
	// PodCIDRs and NodeCIDRs are the cluster's pod and node address ranges. Service-account
	// tokens used from elsewhere are findings; with neither set, that detection is off (the
	// ranges are never guessed).
	PodCIDRs, NodeCIDRs []netip.Prefix
	// SensitiveNamespaces are glob patterns on namespaces where exec and Secret reads weigh more;
	// kube-system, kube-public and kube-node-lease always are.
	SensitiveNamespaces []string
	// ProtectedNamespaces are glob patterns on namespaces whose objects are evidence or
	// defences (Redoubt's own): deleting anything in them is a finding. Default redoubt*.
	ProtectedNamespaces []string
	// BaselineWindow is how long, from the first event, the Secret-read baseline learns which
	// subjects read Secrets in which namespaces; reads after it by others are findings.
	// Default one hour. BaselineUntil, when set, ends the learning at that time instead.
	BaselineWindow time.Duration
	BaselineUntil  time.Time
	// BurstThreshold 401/403 responses to one source address within BurstWindow are a burst.
	// Defaults 20 and one minute.
	BurstThreshold int
	BurstWindow    time.Duration
	// MaxSubjects caps each detection's per-subject or per-address state (least recently seen
	// forgotten first). Default 100,000.
	MaxSubjects int
	// MaxFindings caps the distinct findings kept; repeats of one finding only raise its count.
	// Default 10,000.
	MaxFindings int
}

// DefaultOptions returns o with every unset field given its default.
func DefaultOptions(o Options) Options {
	if len(o.ProtectedNamespaces) == 0 {
		o.ProtectedNamespaces = []string{"redoubt*"}
	}
	if o.BaselineWindow == 0 {
		o.BaselineWindow = time.Hour
	}
	if o.BurstThreshold <= 0 {
		o.BurstThreshold = 20
	}
	if o.BurstWindow <= 0 {
		o.BurstWindow = time.Minute
	}
	if o.MaxSubjects <= 0 {
		o.MaxSubjects = 100_000
	}
	if o.MaxFindings <= 0 {
		o.MaxFindings = 10_000
	}
	return o
}

// detector is one detection: it looks at each final event and reports what it finds.
type detector func(a *Analyzer, e *Event)

// detectors are filled at init by each detection's file.
var detectors []detector

func register(d detector) { detectors = append(detectors, d) }

// Analyzer runs every detection over a stream of events. Feed it with Observe, in log order,
// then read Findings. It is what `redoubt auditlog analyze` runs over files and what the
// server runs over the webhook backend's batches. It is not safe for concurrent use.
type Analyzer struct {
	opts Options

	// Per-detection state, each bounded.
	secretBaseline *lru[string, struct{}]
	baselineEnd    time.Time
	failures       *lru[string, *burst]
	privilegedPods *lru[string, string]
	escalatingRole *lru[string, string]

	findings map[string]*aggregate
	order    []string
	// changed holds the keys of findings new or recurring since the last TakeChanged.
	changed map[string]bool
	dropped int64
	events  int64
	first   time.Time
	last    time.Time
}

// aggregate is one distinct finding and how often it recurred.
type aggregate struct {
	f           finding.Finding
	count       int
	first, last time.Time
	lastID      string
}

// NewAnalyzer returns an analyzer with the given options (defaults filled in).
func NewAnalyzer(opts Options) *Analyzer {
	opts = DefaultOptions(opts)
	return &Analyzer{
		opts:           opts,
		secretBaseline: newLRU[string, struct{}](opts.MaxSubjects),
		failures:       newLRU[string, *burst](opts.MaxSubjects),
		privilegedPods: newLRU[string, string](opts.MaxSubjects),
		escalatingRole: newLRU[string, string](opts.MaxSubjects),
		findings:       map[string]*aggregate{},
		changed:        map[string]bool{},
		baselineEnd:    opts.BaselineUntil,
	}
}

// Observe runs the detections over one event. Only a request's final event (ResponseComplete
// or Panic) is looked at, so a request logged at several stages counts once.
func (a *Analyzer) Observe(e *Event) {
	if e == nil {
		return
	}
	// The baseline starts with the log's first event, whatever its stage.
	t := e.Time()
	if a.first.IsZero() && !t.IsZero() {
		a.first = t
		if a.baselineEnd.IsZero() {
			a.baselineEnd = t.Add(a.opts.BaselineWindow)
		}
	}
	if !e.Final() {
		return
	}
	a.events++
	if t.After(a.last) {
		a.last = t
	}
	for _, d := range detectors {
		d(a, e)
	}
}

var (
	verbKey        = []byte(`"verb":"`)
	codeKey        = []byte(`"code":40`)
	subresourceKey = []byte(`"subresource":"`)
	secrets        = []byte(`"secrets"`)
	anonymousUser  = []byte(`system:anonymous`)
	unauthGroup    = []byte(`system:unauthenticated`)
	serviceAccount = []byte(`system:serviceaccount:`)
	prettyJSON     = []byte(`": `)
)

// Wants reports whether any detection could use the event on this line, without decoding it,
// so that a reader skips decoding the rest (Reader.Filter): in a busy cluster's log most events
// are reads by controllers and nodes that no detection looks at. It errs on the side of yes: it
// wants every write, every Secret, every exec, attach or port-forward, every 401 and 403, every
// anonymous request and, when the token detection is on, every service account's request.
// The audit log writes compact JSON; a line with spaces after its colons is always wanted.
func (a *Analyzer) Wants(line []byte) bool {
	if i := bytes.Index(line, verbKey); i >= 0 {
		switch v := line[i+len(verbKey):]; {
		case bytes.HasPrefix(v, []byte(`create"`)), bytes.HasPrefix(v, []byte(`update"`)),
			bytes.HasPrefix(v, []byte(`patch"`)), bytes.HasPrefix(v, []byte(`delete`)):
			return true
		}
	} else {
		return true // no verb where expected: let the decoder judge it
	}
	if i := bytes.Index(line, codeKey); i >= 0 && i+len(codeKey) < len(line) {
		if c := line[i+len(codeKey)]; c == '1' || c == '3' {
			return true
		}
	}
	if i := bytes.Index(line, subresourceKey); i >= 0 {
		v := line[i+len(subresourceKey):]
		if bytes.HasPrefix(v, []byte(`exec"`)) || bytes.HasPrefix(v, []byte(`attach"`)) || bytes.HasPrefix(v, []byte(`portforward"`)) {
			return true
		}
	}
	if bytes.Contains(line, secrets) || bytes.Contains(line, anonymousUser) || bytes.Contains(line, unauthGroup) {
		return true
	}
	if bytes.Contains(line, prettyJSON) {
		return true
	}
	if (len(a.opts.PodCIDRs) > 0 || len(a.opts.NodeCIDRs) > 0) && bytes.Contains(line, serviceAccount) {
		return !a.sourcesInside(line)
	}
	return false
}

var sourceIPsKey = []byte(`"sourceIPs":[`)

// sourcesInside reports whether a line's sourceIPs are all inside the pod and node ranges, read
// without decoding the line; false when it cannot tell.
func (a *Analyzer) sourcesInside(line []byte) bool {
	i := bytes.Index(line, sourceIPsKey)
	if i < 0 {
		return false
	}
	rest := line[i+len(sourceIPsKey):]
	end := bytes.IndexByte(rest, ']')
	if end <= 0 {
		return false
	}
	for _, q := range bytes.Split(rest[:end], []byte(",")) {
		if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
			return false
		}
		addr, err := netip.ParseAddr(string(q[1 : len(q)-1]))
		if err != nil || !a.insideCluster(addr) {
			return false
		}
	}
	return true
}

// Dropped reports how many findings were not kept because MaxFindings distinct ones were.
func (a *Analyzer) Dropped() int64 { return a.dropped }

// Findings returns the findings so far, sorted, one per distinct finding with the number of
// events behind it in its evidence ("count", "firstSeen", "lastSeen", "lastAuditID").
// Exceptions are not applied: the caller applies them with the rest of its policy.
func (a *Analyzer) Findings() []finding.Finding {
	return a.render(a.order)
}

// TakeChanged returns the findings that are new, or recurred, since the last call (each with
// its count so far), and forgets them: what a server stores after each batch of events.
func (a *Analyzer) TakeChanged() []finding.Finding {
	keys := make([]string, 0, len(a.changed))
	for _, k := range a.order {
		if a.changed[k] {
			keys = append(keys, k)
		}
	}
	clear(a.changed)
	return a.render(keys)
}

func (a *Analyzer) render(keys []string) []finding.Finding {
	out := make([]finding.Finding, 0, len(keys))
	for _, k := range keys {
		g := a.findings[k]
		f := g.f
		f.Evidence = make(map[string]any, len(g.f.Evidence)+4)
		for k, v := range g.f.Evidence {
			f.Evidence[k] = v
		}
		f.Evidence["count"] = g.count
		if !g.first.IsZero() {
			f.Evidence["firstSeen"] = g.first.UTC().Format(time.RFC3339Nano)
			f.Evidence["lastSeen"] = g.last.UTC().Format(time.RFC3339Nano)
		}
		if g.count > 1 {
			f.Evidence["lastAuditID"] = g.lastID
			f.Message += fmt.Sprintf(" (%d times, last %s, audit ID %s)", g.count, g.last.UTC().Format(time.RFC3339), g.lastID)
		}
		out = append(out, f)
	}
	finding.Sort(out)
	return out
}

// Analyze runs every detection over events, in order, and returns the findings (exceptions not
// applied). It is the one call for a batch already in memory, such as one webhook request.
func Analyze(ctx context.Context, events []*Event, opts Options) ([]finding.Finding, error) {
	a := NewAnalyzer(opts)
	for i, e := range events {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		a.Observe(e)
	}
	return a.Findings(), nil
}

// hit is what one detection says about one event.
type hit struct {
	rule     *finding.Rule
	severity finding.Severity
	res      finding.Resource
	// what opens the message: "exec into pod shop/db-0 (container db): sh -c id".
	what string
	// evidence beyond what every finding carries.
	evidence map[string]any
	// key tells repeats apart beyond rule, resource and actor ("" groups all repeats).
	key string
}

// report records a finding for an event: the message and evidence name the user (and
// impersonator), source addresses, user agent, object, verb, response code and audit ID.
func (a *Analyzer) report(e *Event, h hit) {
	as, by := e.Actor()
	h.res.Cluster = a.opts.Cluster
	key := strings.Join([]string{h.rule.ID, h.res.String(), as, by, h.key}, "\x00")
	t := e.Time()
	if g, ok := a.findings[key]; ok {
		a.changed[key] = true
		g.count++
		if t.After(g.last) {
			g.last = t
		}
		g.lastID = e.AuditID
		if h.severity > g.f.Severity {
			g.f.Severity = h.severity
		}
		return
	}
	if len(a.order) >= a.opts.MaxFindings {
		a.dropped++
		return
	}
	f := h.rule.New(h.res, finding.Location{File: e.File, Line: e.Line}, h.what+"; "+describe(e))
	f.Severity = h.severity
	f.Evidence = evidence(e)
	for k, v := range h.evidence {
		f.Evidence[k] = v
	}
	a.findings[key] = &aggregate{f: f, count: 1, first: t, last: t, lastID: e.AuditID}
	a.order = append(a.order, key)
	a.changed[key] = true
}

// describe renders who did what for a message.
func describe(e *Event) string {
	as, by := e.Actor()
	var b strings.Builder
	if as == "" {
		b.WriteString("no user (the credential was refused)")
	} else {
		fmt.Fprintf(&b, "user %q", as)
	}
	if by != "" {
		fmt.Fprintf(&b, " (impersonated by %q)", by)
	}
	if len(e.SourceIPs) > 0 {
		fmt.Fprintf(&b, " from %s", strings.Join(e.SourceIPs, ", "))
	}
	if e.UserAgent != "" {
		fmt.Fprintf(&b, " with %q", truncate(e.UserAgent, 120))
	}
	fmt.Fprintf(&b, ": %s %s", e.Verb, truncate(objectString(e), 200))
	if c := e.Code(); c != 0 {
		fmt.Fprintf(&b, " answered %d", c)
	}
	fmt.Fprintf(&b, ", audit ID %s", e.AuditID)
	return b.String()
}

// objectString names the request's object: resource/subresource namespace/name, or the URI.
func objectString(e *Event) string {
	r, ns, name, sub := e.Resource()
	if r == "" {
		return e.RequestURI
	}
	s := r
	if e.ObjectRef.APIGroup != "" {
		s += "." + e.ObjectRef.APIGroup
	}
	if sub != "" {
		s += "/" + sub
	}
	switch {
	case ns != "" && name != "":
		s += " " + ns + "/" + name
	case ns != "":
		s += " in namespace " + ns
	case name != "":
		s += " " + name
	default:
		s += " in all namespaces"
	}
	return s
}

// evidence is what every audit finding carries, for machines.
func evidence(e *Event) map[string]any {
	as, by := e.Actor()
	ev := map[string]any{
		"auditID":    e.AuditID,
		"user":       as,
		"verb":       e.Verb,
		"requestURI": truncate(e.RequestURI, 1024),
		"userAgent":  truncate(e.UserAgent, 256),
		"sourceIPs":  slices.Clone(e.SourceIPs),
	}
	if by != "" {
		ev["impersonatedBy"] = by
	}
	if g := e.ActorGroups(); len(g) > 0 {
		ev["groups"] = slices.Clone(g)
	}
	if c := e.Code(); c != 0 {
		ev["responseCode"] = c
	}
	if r, ns, name, sub := e.Resource(); r != "" {
		obj := map[string]any{"resource": r}
		if e.ObjectRef.APIGroup != "" {
			obj["apiGroup"] = e.ObjectRef.APIGroup
		}
		if ns != "" {
			obj["namespace"] = ns
		}
		if name != "" {
			obj["name"] = name
		}
		if sub != "" {
			obj["subresource"] = sub
		}
		ev["object"] = obj
	}
	if t := e.Time(); !t.IsZero() {
		ev["time"] = t.UTC().Format(time.RFC3339Nano)
	}
	return ev
}

// objectResource is the finding resource for the request's object.
func objectResource(e *Event) finding.Resource {
	r, ns, name, _ := e.Resource()
	if name == "" {
		name = "*"
	}
	return finding.Resource{Namespace: ns, Kind: KindOf(r), Name: name}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// alwaysSensitive are the control plane's namespaces.
var alwaysSensitive = []string{"kube-system", "kube-public", "kube-node-lease"}

// sensitive reports whether a namespace is the control plane's or one the options name.
func (a *Analyzer) sensitive(ns string) bool {
	return slices.Contains(alwaysSensitive, ns) || globs(a.opts.SensitiveNamespaces, ns)
}

func globs(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, s); err == nil && ok {
			return true
		}
	}
	return false
}

// human reports whether the request was made as a person (or at least not as a service
// account, node or control-plane component).
func human(e *Event) bool {
	as, _ := e.Actor()
	return as != "" && !IsSystem(as)
}

// mutating reports whether the verb writes.
func mutating(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}
