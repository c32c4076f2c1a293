package report

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
)

func result() *audit.Result {
	long := strings.Repeat("a long message that keeps going ", 8)
	return &audit.Result{Findings: []finding.Finding{
		{Check: "low-thing", Severity: finding.Low, Message: "minor", Resource: finding.Resource{Namespace: "a", Kind: "Deployment", Name: "quiet"},
			Location: finding.Location{File: "a.yaml", Line: 1}},
		{Check: "bad-thing", Severity: finding.Critical, Message: long, Resource: finding.Resource{Namespace: "b", Kind: "Deployment", Name: "loud", Container: "app"},
			Location: finding.Location{File: "b.yaml", Line: 7}},
		{Check: "hidden", Severity: finding.High, Message: "suppressed one", Resource: finding.Resource{Namespace: "b", Kind: "Deployment", Name: "loud"},
			Location: finding.Location{File: "b.yaml", Line: 1}, Suppressed: &finding.Suppression{Source: "config", Reason: "accepted", Owner: "team"}},
	}}
}

func TestTableFitsAndOrdersWorstFirst(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, result(), Options{Width: 80}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, l := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(l) > 80 {
			t.Errorf("line wider than 80 columns: %q", l)
		}
	}
	if strings.Index(out, "b/Deployment/loud") > strings.Index(out, "a/Deployment/quiet") {
		t.Errorf("the workload with the critical finding must come first:\n%s", out)
	}
	if strings.Contains(out, "suppressed one") || !strings.Contains(out, "2 findings (1 critical, 1 low) in 0 workloads; 1 suppressed") {
		t.Errorf("suppressed findings are counted, not listed:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour without a terminal")
	}
	buf.Reset()
	if err := Table(&buf, result(), Options{Width: 80, ShowSuppressed: true, Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "suppressed by config (team): accepted") || !strings.Contains(buf.String(), "\x1b[1;35m") {
		t.Errorf("--show-suppressed with colour:\n%s", buf.String())
	}
}

func TestWrap(t *testing.T) {
	lines := wrap("one two three four five six seven eight nine ten eleven twelve", 20)
	for _, l := range lines {
		if len(l) > 20 {
			t.Errorf("%q is wider than 20", l)
		}
	}
	if strings.Join(lines, " ") != "one two three four five six seven eight nine ten eleven twelve" {
		t.Errorf("wrap lost words: %q", lines)
	}
	if got := wrap(strings.Repeat("x", 50), 20); len(got) != 1 {
		t.Errorf("an unbreakable word stands alone: %q", got)
	}
}

// vulnResult is one workload whose container runs an image with many vulnerabilities, one of
// them suppressed, and one deploy finding.
func vulnResult() *audit.Result {
	res := finding.Resource{Namespace: "shop", Kind: "Deployment", Name: "web", Container: "web"}
	loc := finding.Location{File: "web.yaml", Line: 20, Image: "shop/web:1.0"}
	var fs []finding.Finding
	add := func(id string, sev finding.Severity, fixed string) {
		v := &finding.Vulnerability{ID: id, Package: "libssl3", InstalledVersion: "3.0.1", FixedVersion: fixed, Fixable: fixed != ""}
		fs = append(fs, finding.Finding{Check: "image-vulnerability", Severity: sev, Resource: res, Location: loc,
			Message: id + " in libssl3 3.0.1", Vulnerability: v})
	}
	add("CVE-2026-0001", finding.Critical, "")     // the worst is not fixable
	add("CVE-2026-0002", finding.High, "3.0.2")    // the most severe fixable
	add("CVE-2026-0003", finding.Medium, "3.0.3")  // the second
	add("CVE-2026-0004", finding.Low, "3.0.4")     // the third
	add("CVE-2026-0005", finding.Unknown, "3.0.5") // fixable, but past the top three
	add("CVE-2026-0006", finding.Unknown, "")      // neither
	add("CVE-2026-0007", finding.High, "3.0.7")    // suppressed
	fs[len(fs)-1].Suppressed = &finding.Suppression{Source: "vex", Reason: "not reachable"}
	fs = append(fs, finding.Finding{Check: "run-as-root", Severity: finding.Medium, Resource: finding.Resource{Namespace: "shop", Kind: "Deployment", Name: "web"},
		Location: finding.Location{File: "web.yaml", Line: 1}, Message: "runs as root"})
	finding.Sort(fs)
	return &audit.Result{Findings: fs}
}

func TestTableSummarisesVulnerabilitiesPerImage(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, vulnResult(), Options{Width: 400}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"  CRITICAL image-vulnerability [web]\n",
		"6 vulnerabilities in shop/web:1.0 (1 critical, 1 high, 1 medium, 1 low, 2 unknown), 4 fixable",
		"most severe fixable (3 of 4): CVE-2026-0002 (high) libssl3 3.0.1 -> 3.0.2; CVE-2026-0003 (medium) libssl3 3.0.1 -> 3.0.3; CVE-2026-0004",
		"--show-vulnerabilities lists each one",
		"  MEDIUM   run-as-root",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "image-vulnerability"); n != 1 {
		t.Errorf("%d image-vulnerability entries, want one summary:\n%s", n, out)
	}
	if strings.Contains(out, "CVE-2026-0005") || strings.Contains(out, "CVE-2026-0007") {
		t.Errorf("the summary names only the top three fixable, and no suppressed one:\n%s", out)
	}
	// The totals come first and last.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	const total = "7 findings (1 critical, 1 high, 2 medium, 1 low, 2 unknown) in 0 workloads; 1 suppressed"
	if lines[0] != total || lines[len(lines)-1] != total {
		t.Errorf("first line %q and last line %q, want both %q", lines[0], lines[len(lines)-1], total)
	}

	// --show-vulnerabilities lists each; --show-suppressed lists the suppressed one on its own.
	buf.Reset()
	if err := Table(&buf, vulnResult(), Options{Width: 100, ShowVulnerabilities: true}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "image-vulnerability [web]"); n != 6 || strings.Contains(buf.String(), "summarised") {
		t.Errorf("--show-vulnerabilities: %d entries, want 6:\n%s", n, buf.String())
	}
	buf.Reset()
	if err := Table(&buf, vulnResult(), Options{Width: 100, ShowSuppressed: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "image-vulnerability [web] (suppressed)") || !strings.Contains(buf.String(), "suppressed by vex: not reachable") {
		t.Errorf("--show-suppressed hides the suppressed vulnerability:\n%s", buf.String())
	}
}

func TestUnknownSeverityIsShownAsUnknown(t *testing.T) {
	r := &audit.Result{Findings: []finding.Finding{{Check: "image-vulnerability", Severity: finding.Unknown, Message: "CVE-1 in x",
		Resource: finding.Resource{Kind: "Image", Name: "x:1"}, Vulnerability: &finding.Vulnerability{ID: "CVE-1"}}}}
	var buf bytes.Buffer
	if err := Table(&buf, r, Options{ShowVulnerabilities: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "  UNKNOWN  image-vulnerability") || strings.Contains(buf.String(), "MEDIUM") {
		t.Errorf("an unrated vulnerability must show as UNKNOWN:\n%s", buf.String())
	}
	buf.Reset()
	if err := SARIF(&buf, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"level": "warning"`) || !strings.Contains(buf.String(), `"severity": "unknown"`) {
		t.Errorf("SARIF of an unknown finding:\n%s", buf.String())
	}
}
