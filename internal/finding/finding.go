// Package finding holds the one result type every analyzer emits and every sink accepts, the
// registry of rules that can produce findings, and the exception model that suppresses them.
package finding

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Phase is the part of the container lifecycle a finding belongs to.
type Phase string

// The lifecycle phases.
const (
	PhaseInfra   Phase = "infra"
	PhaseBuild   Phase = "build"
	PhaseDeploy  Phase = "deploy"
	PhaseRuntime Phase = "runtime"
)

// Resource names the Kubernetes object (and container) a finding is about. Findings about pods
// name the owning workload. Kind is empty for findings about something that is not an object,
// such as the configuration file itself.
type Resource struct {
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Container string `json:"container,omitempty"`
}

// String renders the resource as namespace/Kind/name[container], leaving out empty parts.
func (r Resource) String() string {
	var b strings.Builder
	if r.Cluster != "" {
		b.WriteString(r.Cluster + ":")
	}
	if r.Namespace != "" {
		b.WriteString(r.Namespace + "/")
	}
	if r.Kind != "" {
		b.WriteString(r.Kind + "/")
	}
	b.WriteString(r.Name)
	if r.Container != "" {
		fmt.Fprintf(&b, "[%s]", r.Container)
	}
	return b.String()
}

// Workload returns the resource without its container: the unit findings are grouped by.
func (r Resource) Workload() Resource {
	r.Container = ""
	return r
}

// Location says where the evidence is: a manifest file and line, an image layer, or a node.
type Location struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// UID identifies a live object.
	UID string `json:"uid,omitempty"`
	// Image is the image reference as the workload spells it; Digest its manifest digest when known.
	Image  string `json:"image,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Layer is the index of the image layer that brought the evidence, from 0, or nil.
	Layer   *int   `json:"layer,omitempty"`
	LayerID string `json:"layerDiffID,omitempty"`
	// CreatedBy is the history line (the Dockerfile instruction) that made the layer.
	CreatedBy string `json:"createdBy,omitempty"`
	Node      string `json:"node,omitempty"`
}

// String renders the most specific part of the location a person would open.
func (l Location) String() string {
	switch {
	case l.File != "" && l.Line > 0:
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	case l.File != "":
		return l.File
	case l.Image != "" && l.Layer != nil:
		return fmt.Sprintf("%s layer %d", l.Image, *l.Layer)
	case l.Image != "":
		return l.Image
	case l.Node != "":
		return "node " + l.Node
	}
	return ""
}

// Finding is one problem found by one check about one resource.
type Finding struct {
	Check       string   `json:"check"`
	Phase       Phase    `json:"phase"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Message     string   `json:"message"`
	Resource    Resource `json:"resource"`
	Location    Location `json:"location"`
	References  []string `json:"references"`
	Remediation string   `json:"remediation"`
	// Evidence holds the facts the message summarises, keyed by name, for machines.
	Evidence map[string]any `json:"evidence,omitempty"`
	// Vulnerability is set on findings about a known vulnerability in a package.
	Vulnerability *Vulnerability `json:"vulnerability,omitempty"`
	// Suppressed is the exception that applies to the finding, or nil.
	Suppressed *Suppression `json:"suppressed"`
}

// Vulnerability describes a known vulnerability in an installed package.
type Vulnerability struct {
	ID               string   `json:"id"`
	Aliases          []string `json:"aliases,omitempty"`
	Package          string   `json:"package"`
	Ecosystem        string   `json:"ecosystem,omitempty"`
	InstalledVersion string   `json:"installedVersion"`
	FixedVersion     string   `json:"fixedVersion,omitempty"`
	Fixable          bool     `json:"fixable"`
	PURL             string   `json:"purl,omitempty"`
}

// IDs returns the vulnerability's ID and aliases: every name an exception may use for it.
func (v *Vulnerability) IDs() []string {
	if v == nil {
		return nil
	}
	return append([]string{v.ID}, v.Aliases...)
}

// Suppression records why a finding does not count: which exception applies, from where.
type Suppression struct {
	// Source is "config" (the exceptions file), "annotation" (redoubt.dev/ignore) or "vex".
	Source string `json:"source"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
	Owner  string `json:"owner,omitempty"`
	// Expires is the day the exception stops applying, as YYYY-MM-DD, or empty for never.
	Expires string `json:"expires,omitempty"`
	// Status and Justification carry an OpenVEX statement's verdict.
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}

// Key identifies a finding for de-duplication and stable ordering.
func (f *Finding) Key() string {
	id := ""
	if f.Vulnerability != nil {
		id = f.Vulnerability.ID + "|" + f.Vulnerability.Package + "|" + f.Vulnerability.InstalledVersion
	}
	return strings.Join([]string{f.Check, f.Resource.String(), f.Location.String(), id, f.Message}, "|")
}

// Counts reports a finding at or above threshold that no exception suppresses.
func (f *Finding) Counts(threshold Severity) bool {
	return f.Suppressed == nil && f.Severity >= threshold
}

// Sort orders findings for output: by workload, then most severe first, then check, then message.
// The order depends only on the findings, never on the order analyzers produced them.
func Sort(fs []Finding) {
	// Sorting indices with precomputed tie-break keys keeps large sorts cheap: a Finding is big
	// to move, and its key is costly to build.
	keys := make([]string, len(fs))
	idx := make([]int, len(fs))
	for i := range fs {
		keys[i] = fs[i].Key()
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		a, b := &fs[i], &fs[j]
		if c := cmp.Compare(a.Resource.Cluster, b.Resource.Cluster); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Resource.Namespace, b.Resource.Namespace); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Resource.Kind, b.Resource.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Resource.Name, b.Resource.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Check, b.Check); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Resource.Container, b.Resource.Container); c != 0 {
			return c
		}
		return cmp.Compare(keys[i], keys[j])
	})
	sorted := make([]Finding, len(fs))
	for to, from := range idx {
		sorted[to] = fs[from]
	}
	copy(fs, sorted)
}

// Today returns the date a run evaluates expiry against: now, truncated to the day in UTC.
func Today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
