package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
)

// group is the findings about one workload (or other object).
type group struct {
	res      finding.Resource
	where    string
	findings []finding.Finding
	worst    finding.Severity
}

var severityColor = map[finding.Severity]string{
	finding.Critical: "\x1b[1;35m",
	finding.High:     "\x1b[1;31m",
	finding.Medium:   "\x1b[33m",
	finding.Low:      "\x1b[36m",
	finding.Unknown:  "\x1b[37m",
	finding.Info:     "\x1b[2m",
}

const (
	reset = "\x1b[0m"
	bold  = "\x1b[1m"
	// indent is where a finding's text starts: after the severity column.
	indent = 11
)

// topFixable is how many fixable vulnerabilities an image's summary names.
const topFixable = 3

// Table writes findings grouped by workload, the worst workload first, wrapped to the terminal
// width, with the totals first and last. Suppressed findings are counted, and listed only when
// asked. A workload's vulnerabilities are summarised per container image (counts by severity,
// how many are fixable, the most severe fixable ones) unless ShowVulnerabilities lists each.
func Table(w io.Writer, r *audit.Result, opts Options) error {
	width := opts.Width
	if width <= 0 {
		width = 80
	}
	groups := groupFindings(r.Findings, opts.ShowSuppressed)
	p := &printer{w: w, color: opts.Color, width: width}
	summary := summaryLine(r)
	if len(groups) > 0 {
		p.line(summary)
		p.line("")
	}
	summarised := false
	for i, g := range groups {
		if i > 0 {
			p.line("")
		}
		head := g.res.Workload().String()
		if g.res.Kind == "" && g.res.Name == "" {
			head = "(cluster)"
		}
		counts := countLine(g.findings)
		p.line(p.paint(bold, head) + pad(width-len(head)-len(counts)) + counts)
		if g.where != "" {
			p.line("  " + p.paint("\x1b[2m", g.where))
		}
		images := map[imageKey]*imageVulns{}
		if !opts.ShowVulnerabilities {
			images = vulnsByImage(g.findings)
		}
		for _, f := range g.findings {
			if iv := images[keyOf(f)]; iv != nil && isRolledUp(f) {
				if iv.printed {
					continue
				}
				iv.printed, summarised = true, true
				p.imageSummary(iv, g.where)
				continue
			}
			sev := strings.ToUpper(f.Severity.String())
			label := fmt.Sprintf("  %-8s ", sev)
			title := f.Check
			if f.Resource.Container != "" {
				title += " [" + f.Resource.Container + "]"
			}
			if f.Suppressed != nil {
				title += " (suppressed)"
			}
			p.line(p.paint(severityColor[f.Severity], label) + title)
			p.wrapped(f.Message, indent)
			if loc := f.Location.String(); loc != "" && loc != g.where {
				p.wrapped("at "+loc, indent)
			}
			if f.Suppressed != nil {
				p.wrapped(fmt.Sprintf("suppressed by %s: %s", suppressionSource(f.Suppressed), f.Suppressed.Reason), indent)
			}
		}
	}
	if len(groups) > 0 {
		p.line("")
	}
	if summarised {
		p.wrapped("Vulnerabilities are summarised per image: --show-vulnerabilities lists each one (JSON and SARIF always do).", 0)
	}
	p.line(summary)
	return p.err
}

// imageKey names one container's image within a workload.
type imageKey struct{ container, image string }

// imageVulns are the unsuppressed vulnerability findings of one container's image.
type imageVulns struct {
	key      imageKey
	findings []finding.Finding // most severe first, as the group is sorted
	printed  bool
}

// isRolledUp says whether a finding is one the table summarises per image: an unsuppressed
// vulnerability (suppressed ones are listed one by one with --show-suppressed, so each
// exception's reason stays visible).
func isRolledUp(f finding.Finding) bool { return f.Vulnerability != nil && f.Suppressed == nil }

func keyOf(f finding.Finding) imageKey {
	return imageKey{container: f.Resource.Container, image: f.Location.Image}
}

func vulnsByImage(fs []finding.Finding) map[imageKey]*imageVulns {
	out := map[imageKey]*imageVulns{}
	for _, f := range fs {
		if !isRolledUp(f) {
			continue
		}
		k := keyOf(f)
		iv := out[k]
		if iv == nil {
			iv = &imageVulns{key: k}
			out[k] = iv
		}
		iv.findings = append(iv.findings, f)
	}
	return out
}

// imageSummary writes one image's vulnerabilities as one entry: labelled with the worst
// severity among them, their counts by severity, how many a fixed version exists for, and the
// most severe fixable ones.
func (p *printer) imageSummary(iv *imageVulns, where string) {
	worst := iv.findings[0].Severity
	label := fmt.Sprintf("  %-8s ", strings.ToUpper(worst.String()))
	title := "image-vulnerability"
	if iv.key.container != "" {
		title += " [" + iv.key.container + "]"
	}
	p.line(p.paint(severityColor[worst], label) + title)
	var fixable []finding.Finding
	for _, f := range iv.findings {
		if f.Vulnerability.Fixable {
			fixable = append(fixable, f)
		}
	}
	n := len(iv.findings)
	img := iv.key.image
	if img == "" {
		img = "the image"
	}
	p.wrapped(fmt.Sprintf("%d %s in %s (%s), %d fixable", n, noun(n, "vulnerability", "vulnerabilities"), img,
		countLine(iv.findings), len(fixable)), indent)
	if len(fixable) > 0 {
		var top []string
		for _, f := range fixable[:min(topFixable, len(fixable))] {
			v := f.Vulnerability
			top = append(top, fmt.Sprintf("%s (%s) %s %s -> %s", v.ID, f.Severity, v.Package, v.InstalledVersion, v.FixedVersion))
		}
		lead := "most severe fixable: "
		if len(fixable) > topFixable {
			lead = fmt.Sprintf("most severe fixable (%d of %d): ", topFixable, len(fixable))
		}
		p.wrapped(lead+strings.Join(top, "; "), indent)
	}
	if loc := iv.findings[0].Location; loc.File != "" {
		if s := (finding.Location{File: loc.File, Line: loc.Line}).String(); s != where {
			p.wrapped("at "+s, indent)
		}
	}
}

// noun is the singular or plural form for a count.
func noun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func suppressionSource(s *finding.Suppression) string {
	where := s.Source
	if s.File != "" && s.Line > 0 {
		where = fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	if s.Owner != "" {
		where += " (" + s.Owner + ")"
	}
	return where
}

func groupFindings(fs []finding.Finding, showSuppressed bool) []*group {
	byKey := map[finding.Resource]*group{}
	var groups []*group
	for _, f := range fs {
		if f.Suppressed != nil && !showSuppressed {
			continue
		}
		k := f.Resource.Workload()
		g := byKey[k]
		if g == nil {
			g = &group{res: k, worst: f.Severity}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.findings = append(g.findings, f)
		if f.Severity > g.worst {
			g.worst = f.Severity
		}
	}
	for _, g := range groups {
		slices.SortStableFunc(g.findings, func(a, b finding.Finding) int {
			return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Check, b.Check))
		})
		// The group's location is its object's own: the most common file among its findings.
		g.where = commonLocation(g.findings)
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(weight(b), weight(a)),
			cmp.Compare(a.res.String(), b.res.String()))
	})
	return groups
}

// weight orders workloads of equal worst severity: more severe findings first.
func weight(g *group) int {
	n := 0
	for _, f := range g.findings {
		n += 1 << (4 * int(f.Severity))
	}
	return n
}

func commonLocation(fs []finding.Finding) string {
	for _, f := range fs {
		if f.Resource.Container == "" && f.Location.File != "" {
			return f.Location.String()
		}
	}
	for _, f := range fs {
		if f.Location.File != "" {
			return f.Location.File
		}
	}
	return ""
}

func countLine(fs []finding.Finding) string {
	n := map[finding.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for _, s := range finding.Severities() {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func summaryLine(r *audit.Result) string {
	s := r.Summarize()
	var parts []string
	for _, sev := range finding.Severities() {
		if n := s.BySeverity[sev.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	line := fmt.Sprintf("%d finding%s", s.Total, plural(s.Total))
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	if r.Snapshot != nil && r.Snapshot.Source.Kind == "images" {
		// redoubt image scan: the targets are images, not workloads; each input error is an
		// image that could not be scanned.
		n := max(0, len(r.Snapshot.Source.Paths)-s.Problems)
		line += fmt.Sprintf(" in %d image%s", n, plural(n))
	} else {
		line += fmt.Sprintf(" in %d workload%s", s.Workloads, plural(s.Workloads))
	}
	if s.Suppressed > 0 {
		line += fmt.Sprintf("; %d suppressed", s.Suppressed)
	}
	if s.Problems > 0 {
		line += fmt.Sprintf("; %d input error%s", s.Problems, plural(s.Problems))
	}
	return line
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pad(n int) string {
	if n < 2 {
		return "  "
	}
	return strings.Repeat(" ", n)
}

// printer writes lines, remembering the first error.
type printer struct {
	w     io.Writer
	color bool
	width int
	err   error
}

func (p *printer) paint(code, s string) string {
	if !p.color || code == "" {
		return s
	}
	return code + s + reset
}

func (p *printer) line(s string) {
	if p.err != nil {
		return
	}
	_, p.err = io.WriteString(p.w, s+"\n")
}

// wrapped writes text word-wrapped to the width, every line indented.
func (p *printer) wrapped(text string, indent int) {
	prefix := strings.Repeat(" ", indent)
	for _, l := range wrap(text, p.width-indent) {
		p.line(prefix + l)
	}
}

// wrap breaks text into lines of at most width runes, at spaces; longer words stand alone.
func wrap(text string, width int) []string {
	if width < 20 {
		width = 20
	}
	var lines []string
	var cur strings.Builder
	curLen := 0
	for _, word := range strings.Fields(text) {
		wl := len([]rune(word))
		if curLen > 0 && curLen+1+wl > width {
			lines = append(lines, cur.String())
			cur.Reset()
			curLen = 0
		}
		if curLen > 0 {
			cur.WriteByte(' ')
			curLen++
		}
		cur.WriteString(word)
		curLen += wl
	}
	if curLen > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
