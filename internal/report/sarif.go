package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// The subset of SARIF 2.1.0 that Redoubt writes, shaped as GitHub code scanning reads it.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.High:
		return "error"
	case s == finding.Medium, s == finding.Unknown:
		// An unrated vulnerability could be anything: shown as a warning, with no
		// security-severity score, so GitHub never ranks it as a real rating.
		return "warning"
	}
	return "note"
}

// securitySeverity is the score GitHub code scanning turns back into a severity.
var securitySeverity = map[finding.Severity]string{
	finding.Critical: "9.5", finding.High: "8.0", finding.Medium: "5.5", finding.Low: "3.0",
}

// SARIF writes the result as a SARIF 2.1.0 log. Manifest findings carry their file and line;
// live-cluster findings carry the object as a logical location. Suppressed findings are kept,
// with the exception as an accepted external suppression.
func SARIF(w io.Writer, r *audit.Result, opts Options) error {
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: "redoubt", Version: opts.ToolVersion}},
		Results:     []sarifResult{},
		Invocations: []sarifInvocation{{ExecutionSuccessful: len(r.Problems) == 0}},
	}
	index := map[string]int{}
	fallback := newSARIFFallback(r.Snapshot, opts.PolicyFile)
	for _, f := range r.Findings {
		i, ok := index[f.Check]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			index[f.Check] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleFor(f))
		}
		res := sarifResult{
			RuleID: f.Check, RuleIndex: i, Level: sarifLevel(f.Severity),
			Message:             sarifText{Text: f.Resource.String() + ": " + f.Message},
			Locations:           []sarifLocation{sarifLocationFor(f, fallback)},
			PartialFingerprints: map[string]string{"redoubtFinding/v1": fingerprint(f)},
			Properties:          map[string]any{"severity": f.Severity.String(), "resource": f.Resource},
		}
		if f.Vulnerability != nil {
			res.Properties["vulnerability"] = f.Vulnerability
		}
		if s := f.Suppressed; s != nil {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted",
				Justification: suppressionSource(s) + ": " + s.Reason}}
		}
		run.Results = append(run.Results, res)
	}
	if run.Tool.Driver.Rules == nil {
		run.Tool.Driver.Rules = []sarifRule{}
	}
	for _, p := range r.Problems {
		n := sarifNotification{Level: "error", Message: sarifText{Text: p.Error()}}
		if p.File != "" {
			loc := sarifLocation{PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(p.File)}}}
			if p.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: p.Line}
			}
			n.Locations = []sarifLocation{loc}
		}
		run.Invocations[0].ToolExecutionNotifications = append(run.Invocations[0].ToolExecutionNotifications, n)
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func sarifRuleFor(f finding.Finding) sarifRule {
	title, desc, help := f.Title, f.Title, f.Remediation
	sev := f.Severity
	refs := f.References
	if r, ok := finding.Lookup(f.Check); ok {
		title, desc, help, sev, refs = r.Title, r.Description, r.Remediation, r.Severity, r.References
	}
	props := map[string]any{"tags": append([]string{"security", string(f.Phase)}, refs...), "precision": "high"}
	if s, ok := securitySeverity[sev]; ok {
		props["security-severity"] = s
	}
	return sarifRule{
		ID: f.Check, Name: ruleName(f.Check),
		ShortDescription:     sarifText{Text: title},
		FullDescription:      sarifText{Text: desc},
		Help:                 sarifText{Text: help, Markdown: "**How to fix:** " + help + "\n\nReferences: " + strings.Join(refs, ", ")},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(sev)},
		Properties:           props,
	}
}

// ruleName turns a kebab-case ID into the PascalCase name SARIF viewers show.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// sarifLocationFor gives every result a physical location, as GitHub code scanning needs one
// to keep a result: the finding's own file and line; else the manifest that puts objects in its
// namespace (a namespace no Namespace object declares); else the image it is about; else the
// cluster's address, the node's first configuration file (or its filesystem), the policy file
// or the path scanned.
func sarifLocationFor(f finding.Finding, fb *sarifFallback) sarifLocation {
	loc := sarifLocation{LogicalLocations: []sarifLogical{{
		Name: f.Resource.Name, FullyQualifiedName: f.Resource.String(), Kind: "resource"}}}
	file, line := f.Location.File, f.Location.Line
	uri := ""
	if file == "" && f.Resource.Namespace != "" {
		if o, ok := fb.byNamespace[f.Resource.Namespace]; ok {
			file, line = o.File, o.Line
		}
	}
	switch {
	case file != "":
		uri = fileURI(file)
	case f.Location.Image != "":
		uri = imageURI(f.Location.Image)
	default:
		uri, line = fb.last, 0
	}
	if uri == "" {
		return loc
	}
	loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}
	if line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
	}
	return loc
}

// sarifFallback holds the locations of a run that findings without a file of their own fall
// back on.
type sarifFallback struct {
	// byNamespace is, per namespace, its Namespace object's origin or else the first object
	// read in it (by file, then line).
	byNamespace map[string]inventory.Origin
	// last is the run's artifact: the cluster's address, the policy file, the first path.
	last string
}

func newSARIFFallback(s *inventory.Snapshot, policyFile string) *sarifFallback {
	fb := &sarifFallback{byNamespace: map[string]inventory.Origin{}}
	if s == nil {
		if policyFile != "" {
			fb.last = fileURI(policyFile)
		}
		return fb
	}
	declared := map[string]bool{}
	for _, n := range s.Namespaces {
		if !n.Implied && n.Origin.File != "" {
			fb.byNamespace[n.Name] = n.Origin
			declared[n.Name] = true
		}
	}
	add := func(ns string, o inventory.Origin) {
		if ns == "" || o.File == "" || declared[ns] {
			return
		}
		if cur, ok := fb.byNamespace[ns]; !ok || o.File < cur.File || (o.File == cur.File && o.Line < cur.Line) {
			fb.byNamespace[ns] = o
		}
	}
	for _, w := range s.Workloads {
		add(w.Namespace, w.Origin)
	}
	for _, x := range s.Pods {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.Services {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.Ingresses {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.NetworkPolicies {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.ServiceAccounts {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.Roles {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.RoleBindings {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.Secrets {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.ConfigMaps {
		add(x.Namespace, x.Origin)
	}
	for _, x := range s.Others {
		add(x.Namespace, x.Origin)
	}
	switch {
	case s.Source.Server != "":
		fb.last = s.Source.Server
	case s.Source.Kind == inventory.SourceNode:
		// A node audit: the first configuration file read, else the node's filesystem.
		fb.last = "file:///"
		for _, c := range s.Components {
			if c.Origin.File != "" {
				fb.last = fileURI(c.Origin.File)
				break
			}
		}
	case policyFile != "":
		fb.last = fileURI(policyFile)
	case len(s.Source.Paths) > 0 && s.Source.Kind == inventory.SourceManifests:
		fb.last = fileURI(s.Source.Paths[0])
	case len(s.Source.Paths) > 0:
		fb.last = imageURI(s.Source.Paths[0])
	}
	return fb
}

// imageURI turns an image reference into a relative URI reference: the colons and at signs
// of tags and digests are escaped, so that "nginx:1.25" does not read as a URI scheme.
func imageURI(ref string) string {
	return strings.NewReplacer("%", "%25", ":", "%3A", "@", "%40", " ", "%20").Replace(ref)
}

// fileURI turns a path into a SARIF artifact URI: relative paths stay relative (GitHub resolves
// them against the repository root), with forward slashes.
func fileURI(p string) string {
	p = filepath.ToSlash(p)
	if strings.HasPrefix(p, "/") {
		return "file://" + p
	}
	return strings.TrimPrefix(p, "./")
}

// fingerprint identifies a finding across runs even when lines move.
func fingerprint(f finding.Finding) string {
	k := strings.Join([]string{f.Check, f.Resource.String(), f.Location.File, f.Location.Image, f.Message}, "|")
	if f.Vulnerability != nil {
		k += "|" + f.Vulnerability.ID + "|" + f.Vulnerability.Package
	}
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:16])
}
