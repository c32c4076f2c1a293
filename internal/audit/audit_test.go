package audit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory/manifest"
)

const manifests = `apiVersion: v1
kind: Pod
metadata:
  name: annotated
  namespace: ns
  annotations:
    redoubt.dev/ignore: "run-as-root, seccomp-profile-missing"
    redoubt.dev/ignore-reason: legacy image, tracked in TICKET-12
spec:
  containers: [{name: c, image: "x:1"}]
---
apiVersion: v1
kind: Pod
metadata:
  name: no-reason
  namespace: ns
  annotations:
    redoubt.dev/ignore: run-as-root
spec:
  containers: [{name: c, image: "x:1"}]
---
apiVersion: v1
kind: Pod
metadata:
  name: typo
  namespace: ns
  annotations:
    redoubt.dev/ignore: run-as-rot
    redoubt.dev/ignore-reason: oops
spec:
  containers: [{name: c, image: "x:1"}]
`

func run(t *testing.T, policy string, now time.Time) *Result {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(p, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := manifest.Load(context.Background(), []string{p}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("policy.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), s, Options{Config: cfg, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func find(r *Result, check, name string) []finding.Finding {
	var out []finding.Finding
	for _, f := range r.Findings {
		if f.Check == check && (name == "" || f.Resource.Name == name) {
			out = append(out, f)
		}
	}
	return out
}

func TestAnnotationExceptions(t *testing.T) {
	r := run(t, "", time.Now())
	for _, check := range []string{"run-as-root", "seccomp-profile-missing"} {
		fs := find(r, check, "annotated")
		if len(fs) != 1 || fs[0].Suppressed == nil || fs[0].Suppressed.Source != "annotation" ||
			fs[0].Suppressed.Reason != "legacy image, tracked in TICKET-12" || fs[0].Suppressed.Line != 1 {
			t.Errorf("%s on the annotated pod: %+v", check, fs)
		}
	}
	if fs := find(r, "missing-resource-limits", "annotated"); len(fs) != 1 || fs[0].Suppressed != nil {
		t.Errorf("checks the annotation does not name must still count: %+v", fs)
	}
	// Without a reason, the annotation does not apply and says so.
	if fs := find(r, "run-as-root", "no-reason"); len(fs) != 1 || fs[0].Suppressed != nil {
		t.Errorf("annotation without a reason suppressed: %+v", fs)
	}
	inv := find(r, "invalid-exception", "no-reason")
	if len(inv) != 1 || !strings.Contains(inv[0].Message, "a reason is required") || inv[0].Location.Line != 12 {
		t.Errorf("missing reason not reported: %+v", inv)
	}
	typo := find(r, "invalid-exception", "typo")
	if len(typo) != 1 || !strings.Contains(typo[0].Message, `check "run-as-rot", which does not exist (did you mean "run-as-root"?)`) {
		t.Errorf("unknown check not reported: %+v", typo)
	}
}

func TestPolicyExceptionsAndExpiry(t *testing.T) {
	policy := `exceptions:
  - checks: [missing-resource-limits]
    resources: [{namespace: ns, name: "no-*"}]
    reason: load test pods
    owner: team-perf
  - checks: [writable-root-filesystem]
    reason: until the base image is fixed
    owner: team-platform
    expires: 2026-06-01
`
	before := run(t, policy, time.Date(2026, 5, 31, 23, 0, 0, 0, time.UTC))
	for _, f := range find(before, "writable-root-filesystem", "") {
		if f.Suppressed == nil || f.Suppressed.Owner != "team-platform" || f.Suppressed.Expires != "2026-06-01" {
			t.Errorf("exception before expiry not applied: %+v", f)
		}
	}
	if n := len(find(before, "exception-expired", "")); n != 0 {
		t.Errorf("%d expired exceptions reported before expiry", n)
	}
	if fs := find(before, "missing-resource-limits", "no-reason"); len(fs) != 1 || fs[0].Suppressed == nil {
		t.Errorf("resource glob exception not applied: %+v", fs)
	}
	if fs := find(before, "missing-resource-limits", "typo"); len(fs) != 1 || fs[0].Suppressed != nil {
		t.Errorf("exception applied outside its selector: %+v", fs)
	}

	after := run(t, policy, time.Date(2026, 6, 1, 0, 0, 1, 0, time.UTC))
	for _, f := range find(after, "writable-root-filesystem", "") {
		if f.Suppressed != nil {
			t.Errorf("expired exception still applies: %+v", f)
		}
	}
	exp := find(after, "exception-expired", "")
	if len(exp) != 1 || exp[0].Location.File != "policy.yaml" || exp[0].Location.Line != 6 ||
		!strings.Contains(exp[0].Message, "writable-root-filesystem") || !strings.Contains(exp[0].Message, "team-platform") {
		t.Errorf("expired exception not reported with its location: %+v", exp)
	}
	if after.Fails(finding.Low) != true || after.Summarize().Suppressed == 0 {
		t.Errorf("summary: %+v", after.Summarize())
	}
}

func TestRunIsDeterministic(t *testing.T) {
	a := run(t, "", time.Now())
	b := run(t, "", time.Now())
	if len(a.Findings) != len(b.Findings) || len(a.Findings) == 0 {
		t.Fatalf("%d vs %d findings", len(a.Findings), len(b.Findings))
	}
	for i := range a.Findings {
		fa, fb := a.Findings[i], b.Findings[i]
		if fa.Check != fb.Check || fa.Resource != fb.Resource || fa.Message != fb.Message || fa.Location.Line != fb.Location.Line {
			t.Fatalf("finding %d differs between runs", i)
		}
	}
}
