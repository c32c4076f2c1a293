// Package config reads the project's policy file, .redoubt.yaml: exceptions and the settings
// checks take (allowed registries, the Pod Security level, break-glass groups, ...). Errors name
// the file and line, and a file with any error is refused whole: a half-read exception list
// would silently un-suppress or over-suppress findings.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/vex"
)

// FileName is the policy file Redoubt looks for in a scanned directory.
const FileName = ".redoubt.yaml"

// maxBytes caps the policy file: it is hand-written and small.
const maxBytes = 4 << 20

// Config is the parsed policy file. The zero value is the default policy.
type Config struct {
	// File is where the configuration was read from ("" for defaults).
	File string
	// Exceptions suppress findings, in the order written.
	Exceptions []finding.Exception
	// AllowedRegistries are glob patterns on image registry hosts (and optional repository
	// prefixes); when set, images from elsewhere are findings.
	AllowedRegistries []string
	// PSSLevel is the Pod Security Standards level reported: "baseline" or "restricted".
	PSSLevel string
	// BreakGlassGroups may be bound to cluster-admin without a finding.
	BreakGlassGroups []string
	// MaxDatabaseAge is how old the vulnerability database may be before scans warn.
	MaxDatabaseAge time.Duration
	// ImageLayout is an OCI layout directory (relative paths are taken from the policy file's
	// directory) holding the images the manifests name, scanned without a registry.
	ImageLayout string
	// PullImages lets scans fetch images that are not in ImageLayout from their registries.
	PullImages bool
	// FloatingTags are the settings of the image-floating-tag check (images.floatingTags).
	FloatingTags FloatingTags
	// ReleaseCalendarMaxAge is how old the Kubernetes release calendar may be before version
	// checks say it is stale (kubernetes.releaseCalendarMaxAge).
	ReleaseCalendarMaxAge time.Duration
	// Network holds the settings of the network policy checks.
	Network Network
}

// FloatingTags say which image tags are full versions (images.floatingTags in .redoubt.yaml).
type FloatingTags struct {
	// VersionParts is how many numeric parts a tag must open with to be a full version: 3 (the
	// default) takes 1.25.3 and 1.25.3-alpine, not 1.25, 20 or alpine. 0 turns the check off.
	VersionParts int
	// Allow are glob patterns (path.Match: * stops at "/") on image references that are never
	// reported, for repositories whose releases have fewer parts
	// ("registry.shop.internal/library/postgres:*").
	Allow []string
}

// DefaultVersionParts is how many numeric parts a full version tag has unless the policy says.
const DefaultVersionParts = 3

// Network holds the settings of the network policy checks (network: in .redoubt.yaml).
type Network struct {
	// Sensitive selects the workloads that must not be reachable from other namespaces,
	// besides those annotated redoubt.dev/sensitive: "true" and well-known datastores.
	Sensitive []SensitiveSelector
	// PodCIDRs are the cluster's pod address ranges, when the snapshot's nodes do not say.
	PodCIDRs []netip.Prefix
	// NodeCIDRs hold the nodes' addresses, when the snapshot's nodes do not say: traffic of
	// hostNetwork pods is theirs.
	NodeCIDRs []netip.Prefix
}

// SensitiveSelector selects workloads: glob patterns on namespace, kind and name (empty
// matches anything) and pod labels that must all be present.
type SensitiveSelector struct {
	Namespace string            `yaml:"namespace"`
	Kind      string            `yaml:"kind"`
	Name      string            `yaml:"name"`
	Labels    map[string]string `yaml:"labels"`
}

// file is the on-disk shape of .redoubt.yaml.
type file struct {
	Exceptions []exception `yaml:"exceptions"`
	Registries struct {
		Allowed []string `yaml:"allowed"`
	} `yaml:"registries"`
	PodSecurity struct {
		Level string `yaml:"level"`
	} `yaml:"podSecurity"`
	RBAC struct {
		BreakGlassGroups []string `yaml:"breakGlassGroups"`
	} `yaml:"rbac"`
	Database struct {
		MaxAge string `yaml:"maxAge"`
	} `yaml:"database"`
	Network struct {
		Sensitive []SensitiveSelector `yaml:"sensitive"`
		PodCIDRs  []string            `yaml:"podCIDRs"`
		NodeCIDRs []string            `yaml:"nodeCIDRs"`
	} `yaml:"network"`
	Images struct {
		Layout       string `yaml:"layout"`
		Pull         bool   `yaml:"pull"`
		FloatingTags struct {
			VersionParts *int     `yaml:"versionParts"`
			Allow        []string `yaml:"allow"`
		} `yaml:"floatingTags"`
	} `yaml:"images"`
	Kubernetes struct {
		ReleaseCalendarMaxAge string `yaml:"releaseCalendarMaxAge"`
	} `yaml:"kubernetes"`
}

type exception struct {
	Check           string             `yaml:"check"`
	Checks          []string           `yaml:"checks"`
	Vulnerability   string             `yaml:"vulnerability"`
	Vulnerabilities []string           `yaml:"vulnerabilities"`
	Resources       []finding.Selector `yaml:"resources"`
	Resource        *finding.Selector  `yaml:"resource"`
	Images          []string           `yaml:"images"`
	Packages        []string           `yaml:"packages"`
	PURLs           []string           `yaml:"purls"`
	Subjects        []string           `yaml:"subjects"`
	Subject         string             `yaml:"subject"`
	Reason          string             `yaml:"reason"`
	Owner           string             `yaml:"owner"`
	Expires         string             `yaml:"expires"`
	// Justification is an OpenVEX justification label, written by `redoubt vex export`.
	Justification string `yaml:"justification"`
}

// Default returns the policy used when no file is given.
func Default() *Config {
	return &Config{PSSLevel: "restricted", MaxDatabaseAge: 7 * 24 * time.Hour, ReleaseCalendarMaxAge: 60 * 24 * time.Hour,
		FloatingTags: FloatingTags{VersionParts: DefaultVersionParts}}
}

// Find returns the policy file that applies to a scan of these paths, or "" when there is none:
// the nearest .redoubt.yaml in the first path's directory (a file's own directory) or above it,
// up to the root of the repository that holds it (the nearest directory with a .git entry), as
// git and golangci-lint look for their files. So `scan examples/shop/web` keeps the policy of
// examples/shop. Outside a repository only the path's own directory is looked in: a stray file
// in a parent such as /tmp never applies by surprise.
func Find(paths []string) string {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		dir := p
		if !info.IsDir() {
			dir = filepath.Dir(p)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			continue
		}
		if found := findUp(abs); found != "" {
			// Name the file as the user named the path: relative stays relative.
			if !filepath.IsAbs(dir) {
				if wd, err := os.Getwd(); err == nil {
					if rel, err := filepath.Rel(wd, found); err == nil {
						return rel
					}
				}
			}
			return found
		}
	}
	return ""
}

// findUp looks for the policy file in dir, then in its parents up to the repository root.
func findUp(dir string) string {
	var candidates []string
	for d := dir; ; {
		candidates = append(candidates, filepath.Join(d, FileName))
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			break // the repository root: look no further
		}
		parent := filepath.Dir(d)
		if parent == d {
			// No repository above: only the directory itself counts.
			candidates = candidates[:1]
			break
		}
		d = parent
	}
	for _, c := range candidates {
		if info, err := os.Stat(c); err == nil && info.Mode().IsRegular() {
			return c
		}
	}
	return ""
}

// Load reads a policy file. Every error names the file and, where known, the line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, unwrapPath(err))
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("config %s: larger than %d MiB", path, maxBytes>>20)
	}
	return Parse(path, data)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads a policy file's contents; name is used in errors and suppression records.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Default()
	cfg.File = name
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, nil
		}
		return nil, fmt.Errorf("config %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var f file
	if err := decodeStrict(name, &root, &f); err != nil {
		return nil, err
	}
	var problems []string
	lines := exceptionLines(&root)
	for i, e := range f.Exceptions {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		ex, err := e.toException(name, line)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: exception %d: %v", name, line, i+1, err))
			continue
		}
		cfg.Exceptions = append(cfg.Exceptions, ex)
	}
	cfg.AllowedRegistries = f.Registries.Allowed
	if f.PodSecurity.Level != "" {
		switch f.PodSecurity.Level {
		case "baseline", "restricted":
			cfg.PSSLevel = f.PodSecurity.Level
		default:
			problems = append(problems, fmt.Sprintf("%s: podSecurity.level %q: want baseline or restricted", name, f.PodSecurity.Level))
		}
	}
	cfg.BreakGlassGroups = f.RBAC.BreakGlassGroups
	if l := f.Images.Layout; l != "" {
		if !filepath.IsAbs(l) {
			l = filepath.Join(filepath.Dir(name), l)
		}
		cfg.ImageLayout = l
	}
	cfg.PullImages = f.Images.Pull
	if n := f.Images.FloatingTags.VersionParts; n != nil {
		if *n < 0 || *n > 6 {
			problems = append(problems, fmt.Sprintf("%s: images.floatingTags.versionParts %d: want 0 (off) to 6", name, *n))
		}
		cfg.FloatingTags.VersionParts = *n
	}
	for _, p := range f.Images.FloatingTags.Allow {
		if _, err := path.Match(p, ""); err != nil {
			problems = append(problems, fmt.Sprintf("%s: images.floatingTags.allow %q: %v", name, p, err))
		}
	}
	cfg.FloatingTags.Allow = f.Images.FloatingTags.Allow
	if f.Database.MaxAge != "" {
		d, err := parseAge(f.Database.MaxAge)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: database.maxAge: %v", name, err))
		}
		cfg.MaxDatabaseAge = d
	}
	cfg.Network.Sensitive = f.Network.Sensitive
	for i, sel := range f.Network.Sensitive {
		for _, pat := range []string{sel.Namespace, sel.Kind, sel.Name} {
			if _, err := path.Match(pat, ""); err != nil {
				problems = append(problems, fmt.Sprintf("%s: network.sensitive[%d]: pattern %q: %v", name, i, pat, err))
			}
		}
		if sel.Namespace == "" && sel.Kind == "" && sel.Name == "" && len(sel.Labels) == 0 {
			problems = append(problems, fmt.Sprintf("%s: network.sensitive[%d]: selects every workload; name a namespace, kind, name or labels", name, i))
		}
	}
	for i, c := range f.Network.PodCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: network.podCIDRs[%d]: %q is not a CIDR", name, i, c))
			continue
		}
		cfg.Network.PodCIDRs = append(cfg.Network.PodCIDRs, p.Masked())
	}
	for i, c := range f.Network.NodeCIDRs {
		p, err := netip.ParsePrefix(c)
		if a, aerr := netip.ParseAddr(c); aerr == nil {
			p, err = netip.PrefixFrom(a, a.BitLen()), nil
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: network.nodeCIDRs[%d]: %q is not a CIDR or an address", name, i, c))
			continue
		}
		cfg.Network.NodeCIDRs = append(cfg.Network.NodeCIDRs, p.Masked())
	}
	if f.Kubernetes.ReleaseCalendarMaxAge != "" {
		d, err := parseAge(f.Kubernetes.ReleaseCalendarMaxAge)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: kubernetes.releaseCalendarMaxAge: %v", name, err))
		}
		cfg.ReleaseCalendarMaxAge = d
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return cfg, nil
}

// Matches reports whether the selector selects a workload with this namespace, kind, name and
// pod labels.
func (s SensitiveSelector) Matches(namespace, kind, name string, podLabels map[string]string) bool {
	for _, pm := range [][2]string{{s.Namespace, namespace}, {s.Kind, kind}, {s.Name, name}} {
		if pm[0] == "" {
			continue
		}
		if ok, err := path.Match(pm[0], pm[1]); err != nil || !ok {
			return false
		}
	}
	for k, v := range s.Labels {
		if podLabels[k] != v {
			return false
		}
	}
	return true
}

// decodeStrict decodes a node, refusing unknown fields so a misspelt key is not silently ignored.
func decodeStrict(name string, root *yaml.Node, out *file) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("config %s: %w", name, err)
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	err := dec.Decode(out)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if err != nil {
			return fmt.Errorf("config %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	// "line 3: field expiry not found in type config.exception" -> "p.yaml:3: unknown field "expiry""
	var msgs []string
	for _, e := range te.Errors {
		line, msg, _ := strings.Cut(strings.TrimPrefix(e, "line "), ": ")
		if f, ok := strings.CutPrefix(msg, "field "); ok {
			if field, _, ok := strings.Cut(f, " not found"); ok {
				msg = fmt.Sprintf("unknown field %q", field)
			}
		}
		msgs = append(msgs, fmt.Sprintf("%s:%s: %s", name, line, msg))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// exceptionLines returns the line of each entry of the exceptions list.
func exceptionLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "exceptions" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, e := range m.Content[i+1].Content {
				out = append(out, e.Line)
			}
			return out
		}
	}
	return nil
}

func (e exception) toException(file string, line int) (finding.Exception, error) {
	ex := finding.Exception{
		Checks: e.Checks, Vulnerabilities: e.Vulnerabilities, Resources: e.Resources,
		Images: e.Images, Packages: e.Packages, PURLs: e.PURLs, Subjects: e.Subjects,
		Reason: e.Reason, Owner: e.Owner, Source: "config", File: file, Line: line,
		Justification: e.Justification,
	}
	if e.Justification != "" && !slices.Contains(vex.Justifications, e.Justification) {
		return ex, fmt.Errorf("justification %q: want one of %s", e.Justification, strings.Join(vex.Justifications, ", "))
	}
	if e.Check != "" {
		ex.Checks = append(ex.Checks, e.Check)
	}
	if e.Vulnerability != "" {
		ex.Vulnerabilities = append(ex.Vulnerabilities, e.Vulnerability)
	}
	if e.Resource != nil {
		ex.Resources = append(ex.Resources, *e.Resource)
	}
	if e.Subject != "" {
		ex.Subjects = append(ex.Subjects, e.Subject)
	}
	if e.Expires != "" {
		t, err := time.Parse(time.DateOnly, e.Expires)
		if err != nil {
			return ex, fmt.Errorf("expires %q: want a date as YYYY-MM-DD", e.Expires)
		}
		ex.Expires = t
	}
	if err := ex.Validate(); err != nil {
		return ex, err
	}
	return ex, nil
}

// parseAge reads a duration that may also be given in days ("7d").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}
