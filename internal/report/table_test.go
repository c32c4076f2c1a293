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
