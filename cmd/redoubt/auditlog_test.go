package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const auditFixture = "testdata/auditlog/audit.log"

func TestAuditlogAnalyzeExitCodesAndFormats(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		stdout   []string
		stderrIn string
	}{
		{"findings, no threshold", []string{"auditlog", "analyze", auditFixture, "--no-color"}, "", 0,
			[]string{"audit-pod-exec", "audit-secret-list-all-namespaces", `user "mallory" from 198.51.100.7`}, "2 lines, 2 events decoded, 0 skipped"},
		{"fail on high", []string{"auditlog", "analyze", auditFixture, "--fail-on", "high"}, "", 1, nil, "findings at or above high"},
		{"fail on critical passes", []string{"auditlog", "analyze", auditFixture, "--fail-on", "critical"}, "", 0, nil, ""},
		{"stdin with a bad line", []string{"auditlog", "analyze", "-"}, "{not json\n", 2, nil, "-:1: not an audit event"},
		{"missing file", []string{"auditlog", "analyze", "nope.log"}, "", 2, nil, "audit log nope.log"},
		{"no file", []string{"auditlog", "analyze"}, "", 2, nil, "name at least one audit log"},
		{"bad cidr", []string{"auditlog", "analyze", auditFixture, "--pod-cidr", "10.0.0.0/99"}, "", 2, nil, "--pod-cidr"},
		{"sarif", []string{"auditlog", "analyze", auditFixture, "--format", "sarif"}, "", 0, []string{`"ruleId": "audit-pod-exec"`}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := redoubt(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			if !strings.Contains(errOut, tc.stderrIn) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderrIn, errOut)
			}
		})
	}
}

// TestAuditlogExceptions suppresses a finding with the policy file, as for redoubt scan.
func TestAuditlogExceptions(t *testing.T) {
	policy := filepath.Join(t.TempDir(), ".redoubt.yaml")
	os.WriteFile(policy, []byte(`exceptions:
  - check: audit-pod-exec
    resource: {namespace: shop, kind: Pod}
    reason: the on-call runbook execs into web pods
    owner: team-web
    expires: "2999-01-01"
`), 0o644)
	code, out, errOut := redoubt(t, "", "auditlog", "analyze", auditFixture, "--config", policy, "--format", "json", "--fail-on", "medium")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the Secret list still counts): %s", code, errOut)
	}
	var doc struct {
		Findings []struct {
			Check      string `json:"check"`
			Suppressed *struct {
				Reason string `json:"reason"`
			} `json:"suppressed"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Findings {
		if (f.Check == "audit-pod-exec") != (f.Suppressed != nil) {
			t.Errorf("%s: suppressed %v", f.Check, f.Suppressed)
		}
	}
	// By subject: the user who made the request.
	os.WriteFile(policy, []byte(`exceptions:
  - check: audit-secret-list-all-namespaces
    subject: mallory
    reason: mallory runs the backup
    owner: team-platform
`), 0o644)
	code, _, errOut = redoubt(t, "", "auditlog", "analyze", auditFixture, "--config", policy, "--fail-on", "high")
	if code != 0 {
		t.Errorf("exit %d, want 0 once mallory's list is excepted: %s", code, errOut)
	}
}

func TestEventsIngest(t *testing.T) {
	flows := filepath.Join(t.TempDir(), "flows.jsonl")
	code, out, errOut := redoubt(t, "", "events", "ingest",
		"--falco", "../../internal/runtime/falco/testdata/falco.jsonl",
		"--tetragon", "../../internal/runtime/tetragon/testdata/tetragon.jsonl",
		"--flows-out", flows, "--format", "json")
	// The fixtures hold malformed lines on purpose: exit 2, with every finding reported.
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	for _, s := range []string{`"check": "falco-alert"`, `"check": "tetragon-shell-in-container"`, `"falcoRule": "Drop and execute new binary in container"`} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %s", s)
		}
	}
	if !strings.Contains(errOut, "falco.jsonl:7") {
		t.Errorf("stderr does not name the bad line: %s", errOut)
	}
	data, err := os.ReadFile(flows)
	if err != nil || !strings.Contains(string(data), `"dstPort":443`) {
		t.Errorf("flows file: %v %s", err, data)
	}
	// netpol traffic reads them as they are.
	if code, out, errOut := redoubt(t, "", "netpol", "traffic", "--flows", flows, example); code != 0 || !strings.Contains(out, "1 flow records from") {
		t.Errorf("netpol traffic on the flows: exit %d: %s\n%s", code, errOut, out)
	}
	if code, _, errOut := redoubt(t, "", "events", "ingest"); code != 2 || !strings.Contains(errOut, "--falco") {
		t.Errorf("no input: exit %d, %s", code, errOut)
	}
	if code, _, _ := redoubt(t, "", "events", "ingest", "--falco", "-", "--tetragon", "-"); code != 2 {
		t.Errorf("stdin twice: exit %d, want 2", code)
	}
}

func TestAuditlogAndEventsHelp(t *testing.T) {
	for cmd, wants := range map[string][]string{
		"auditlog analyze": {"Examples:", "--fail-on", "--pod-cidr", "oldest first", ".redoubt.yaml"},
		"events ingest":    {"Examples:", "--falco", "--tetragon", "Warning -> medium", "--flows-out"},
	} {
		code, out, _ := redoubt(t, "", append(strings.Fields(cmd), "--help")...)
		if code != 0 {
			t.Errorf("%s --help: exit %d", cmd, code)
		}
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s --help does not mention %s", cmd, w)
			}
		}
	}
}
