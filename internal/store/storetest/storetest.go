// Package storetest is the one test suite every store engine passes: history semantics,
// queries and pagination, image inventories, concurrent writers and the image-scan queue.
// An engine's test calls Run with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// Open opens a new, empty store for one test; the engine closes it at cleanup.
type Open func(t *testing.T) store.Store

// Run runs the suite against the engine open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, Open)
	}{
		{"History", testHistory},
		{"Suppression", testSuppression},
		{"EventLike", testEventLike},
		{"ScopesIndependent", testScopes},
		{"Duplicates", testDuplicates},
		{"Pagination", testPagination},
		{"Filters", testFilters},
		{"InvalidQueries", testInvalidQueries},
		{"NotFound", testNotFound},
		{"Images", testImages},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Queue", testQueue},
		{"QueueLease", testQueueLease},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Exceptions", testExceptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// t0 is the suite's clock: audits run at t0, t0+1h, ...
var t0 = time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)

func hour(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }

// mk makes a deploy-phase finding about a Deployment's container.
func mk(check, ns, name string, sev finding.Severity) finding.Finding {
	return finding.Finding{
		Check: check, Phase: finding.PhaseDeploy, Severity: sev,
		Title:      "Title of " + check,
		Message:    fmt.Sprintf("container app of %s/%s breaks %s", ns, name, check),
		Resource:   finding.Resource{Cluster: "test", Namespace: ns, Kind: "Deployment", Name: name, Container: "app"},
		Location:   finding.Location{UID: "uid-" + ns + "-" + name},
		Evidence:   map[string]any{"field": "spec.containers[0].securityContext"},
		References: []string{"https://kubernetes.io/docs/concepts/security/pod-security-standards/"},
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func record(t *testing.T, s store.Store, scope store.Scope, at time.Time, fs ...finding.Finding) *store.Change {
	t.Helper()
	ch, err := s.RecordScan(ctx(t), scope, at.Add(-time.Minute), at, fs, "audit at "+at.Format(time.TimeOnly))
	if err != nil {
		t.Fatalf("RecordScan(%s, %d findings): %v", scope, len(fs), err)
	}
	return ch
}

func get(t *testing.T, s store.Store, f finding.Finding) *store.Record {
	t.Helper()
	r, err := s.Finding(ctx(t), store.Fingerprint(&f))
	if err != nil {
		t.Fatalf("Finding(%s): %v", f.Check, err)
	}
	return r
}

func ids(rs []store.Record) []string {
	out := make([]string, len(rs))
	for i := range rs {
		out[i] = rs[i].Finding.Check + "@" + rs[i].Finding.Resource.Name
	}
	slices.Sort(out)
	return out
}

func kinds(es []store.Event) []store.EventKind {
	out := make([]store.EventKind, len(es))
	for i, e := range es {
		out[i] = e.Kind
	}
	return out
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s differs after the round trip:\n got %s\nwant %s", what, g, w)
	}
}

// testHistory: first seen is kept, last seen moves, a finding the next audit does not produce
// is resolved at that audit, and one that comes back is reopened with its first seen intact.
func testHistory(t *testing.T, open Open) {
	s := open(t)
	a := mk("privileged-container", "shop", "web", finding.Critical)
	b := mk("run-as-root", "shop", "web", finding.Medium)

	ch := record(t, s, store.ScopeCluster, hour(0), a, b)
	if got := ids(ch.New); !slices.Equal(got, []string{"privileged-container@web", "run-as-root@web"}) {
		t.Errorf("first audit: new = %v, want both", got)
	}
	if ch.Scan.ID == 0 || ch.Scan.New != 2 || ch.Scan.Findings != 2 || len(ch.Resolved)+len(ch.Reopened) != 0 {
		t.Errorf("first audit: scan = %+v, resolved %d, reopened %d", ch.Scan, len(ch.Resolved), len(ch.Reopened))
	}
	sameJSON(t, "stored finding", get(t, s, a).Finding, a)

	ch = record(t, s, store.ScopeCluster, hour(1), a)
	if len(ch.New) != 0 || len(ch.Reopened) != 0 || !slices.Equal(ids(ch.Resolved), []string{"run-as-root@web"}) {
		t.Errorf("second audit: new %v reopened %v resolved %v, want only run-as-root resolved", ids(ch.New), ids(ch.Reopened), ids(ch.Resolved))
	}
	ra, rb := get(t, s, a), get(t, s, b)
	if !ra.FirstSeen.Equal(hour(0)) || !ra.LastSeen.Equal(hour(1)) || ra.State != store.StateOpen || ra.ResolvedAt != nil {
		t.Errorf("still present: first %v last %v state %s resolved %v; want first %v, last %v, open", ra.FirstSeen, ra.LastSeen, ra.State, ra.ResolvedAt, hour(0), hour(1))
	}
	if rb.State != store.StateResolved || rb.ResolvedAt == nil || !rb.ResolvedAt.Equal(hour(1)) || !rb.LastSeen.Equal(hour(0)) {
		t.Errorf("gone: state %s resolved %v last %v; want resolved at %v, last seen %v", rb.State, rb.ResolvedAt, rb.LastSeen, hour(1), hour(0))
	}

	// A third audit without b resolves nothing new: b stays resolved at the audit that lost it.
	ch = record(t, s, store.ScopeCluster, hour(2), a)
	if len(ch.Resolved) != 0 {
		t.Errorf("third audit resolved %v again", ids(ch.Resolved))
	}
	if rb := get(t, s, b); !rb.ResolvedAt.Equal(hour(1)) {
		t.Errorf("resolved at moved to %v, want %v", rb.ResolvedAt, hour(1))
	}

	ch = record(t, s, store.ScopeCluster, hour(3), a, b)
	if !slices.Equal(ids(ch.Reopened), []string{"run-as-root@web"}) || len(ch.New) != 0 {
		t.Errorf("fourth audit: reopened %v new %v, want run-as-root reopened", ids(ch.Reopened), ids(ch.New))
	}
	rb = get(t, s, b)
	if rb.State != store.StateOpen || rb.ResolvedAt != nil || !rb.FirstSeen.Equal(hour(0)) || !rb.LastSeen.Equal(hour(3)) {
		t.Errorf("reopened: state %s resolved %v first %v last %v", rb.State, rb.ResolvedAt, rb.FirstSeen, rb.LastSeen)
	}
	h, err := s.History(ctx(t), rb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.EventKind{store.EventOpened, store.EventResolved, store.EventReopened}; !slices.Equal(kinds(h), want) {
		t.Errorf("history %v, want %v", kinds(h), want)
	}
	for i, at := range []time.Time{hour(0), hour(1), hour(3)} {
		if i < len(h) && (!h[i].At.Equal(at) || h[i].ScanID == 0 || h[i].FindingID != rb.ID) {
			t.Errorf("event %d: %+v, want at %v with a scan ID", i, h[i], at)
		}
	}

	scans, err := s.Scans(ctx(t), store.ScopeCluster, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != 4 {
		t.Fatalf("%d scans, want 4", len(scans))
	}
	first, last := scans[3], scans[0]
	if !last.Finished.Equal(hour(3)) || last.Reopened != 1 || last.Findings != 2 || first.New != 2 || scans[2].Resolved != 1 {
		t.Errorf("scans (newest first) = %+v", scans)
	}
	if !first.Started.Equal(hour(0).Add(-time.Minute)) || first.Note == "" {
		t.Errorf("first scan started %v note %q", first.Started, first.Note)
	}
	if sc, _ := s.Scans(ctx(t), store.ScopeCluster, 2); len(sc) != 2 || sc[0].ID != last.ID {
		t.Errorf("Scans limit 2 = %+v", sc)
	}
}

// testSuppression: an exception that begins to apply, changes, and stops applying each leave an
// event, and the record carries the current suppression.
func testSuppression(t *testing.T, open Open) {
	s := open(t)
	a := mk("host-network", "infra", "dns", finding.High)
	record(t, s, store.ScopeCluster, hour(0), a)

	sup := a
	sup.Suppressed = &finding.Suppression{Source: "config", File: ".redoubt.yaml", Line: 4, Reason: "DNS needs the host network", Owner: "platform", Expires: "2027-01-01"}
	record(t, s, store.ScopeCluster, hour(1), sup)
	r := get(t, s, a)
	if r.Finding.Suppressed == nil || r.Finding.Suppressed.Reason != sup.Suppressed.Reason || r.State != store.StateOpen {
		t.Errorf("record after the exception: %+v", r)
	}
	recs, _, err := s.Findings(ctx(t), store.Query{State: "suppressed"})
	if err != nil || len(recs) != 1 {
		t.Errorf("state=suppressed: %d records, %v; want 1", len(recs), err)
	}
	record(t, s, store.ScopeCluster, hour(2), sup) // unchanged: no event
	record(t, s, store.ScopeCluster, hour(3), a)   // the exception expired
	h, err := s.History(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.EventKind{store.EventOpened, store.EventSuppressed, store.EventUnsupp}; !slices.Equal(kinds(h), want) {
		t.Fatalf("history %v, want %v", kinds(h), want)
	}
	if h[1].Suppression == nil || *h[1].Suppression != *sup.Suppressed || !h[1].At.Equal(hour(1)) || !h[2].At.Equal(hour(3)) {
		t.Errorf("suppression events %+v %+v", h[1], h[2])
	}
	if recs, _, _ := s.Findings(ctx(t), store.Query{State: "suppressed"}); len(recs) != 0 {
		t.Errorf("state=suppressed after expiry: %d records, want 0", len(recs))
	}
	// A finding suppressed from its first audit is opened and suppressed at once.
	b := mk("privileged-container", "infra", "cni", finding.Critical)
	b.Suppressed = &finding.Suppression{Source: "annotation", Reason: "the CNI needs it"}
	record(t, s, store.ScopeCluster, hour(4), a, b)
	h, _ = s.History(ctx(t), store.Fingerprint(&b))
	if want := []store.EventKind{store.EventOpened, store.EventSuppressed}; !slices.Equal(kinds(h), want) {
		t.Errorf("history of a finding suppressed from the start: %v, want %v", kinds(h), want)
	}
}

// testEventLike: findings added with AddFindings are never resolved by absence, by a later
// AddFindings or by an audit of another scope.
func testEventLike(t *testing.T, open Open) {
	s := open(t)
	const rt store.Scope = "runtime"
	e1 := mk("shell-spawned", "shop", "web", finding.High)
	e1.Phase = finding.PhaseRuntime
	e2 := e1
	e2.Message = "a shell ran in web again, as another user"
	ch, err := s.AddFindings(ctx(t), rt, hour(0), []finding.Finding{e1})
	if err != nil || len(ch.New) != 1 {
		t.Fatalf("AddFindings: %v, %+v", err, ch)
	}
	if _, err := s.AddFindings(ctx(t), rt, hour(1), []finding.Finding{e2}); err != nil {
		t.Fatal(err)
	}
	record(t, s, store.ScopeCluster, hour(2), mk("run-as-root", "shop", "web", finding.Low))
	record(t, s, store.ScopeCluster, hour(3))
	recs, _, err := s.Findings(ctx(t), store.Query{Scope: rt, State: "open"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("open runtime findings: %d, %v; want 2", len(recs), err)
	}
	// The same event again moves its last seen and is not new.
	ch, err = s.AddFindings(ctx(t), rt, hour(4), []finding.Finding{e1})
	if err != nil || len(ch.New) != 0 {
		t.Fatalf("repeated event: %v, new %v", err, ids(ch.New))
	}
	if r := get(t, s, e1); !r.FirstSeen.Equal(hour(0)) || !r.LastSeen.Equal(hour(4)) {
		t.Errorf("repeated event: first %v last %v", r.FirstSeen, r.LastSeen)
	}
	if r := get(t, s, mk("run-as-root", "shop", "web", finding.Low)); r.State != store.StateResolved {
		t.Errorf("the cluster finding the last audit lost is %s, want resolved", r.State)
	}
}

// testScopes: an audit replaces its own scope only.
func testScopes(t *testing.T, open Open) {
	s := open(t)
	img := store.Scope("image:sha256:" + fmt.Sprintf("%064d", 1))
	v := mk("vulnerable-package", "shop", "web", finding.High)
	v.Phase = finding.PhaseBuild
	v.Vulnerability = &finding.Vulnerability{ID: "CVE-2024-0001", Package: "openssl", InstalledVersion: "3.0.1", FixedVersion: "3.0.2", Fixable: true}
	record(t, s, img, hour(0), v)
	record(t, s, store.ScopeCluster, hour(0), mk("run-as-root", "shop", "web", finding.Low))
	ch := record(t, s, store.ScopeCluster, hour(1))
	if len(ch.Resolved) != 1 {
		t.Errorf("empty cluster audit resolved %v, want the cluster finding only", ids(ch.Resolved))
	}
	if r := get(t, s, v); r.State != store.StateOpen || r.Scope != img {
		t.Errorf("image finding after a cluster audit: %s in %s, want open in %s", r.State, r.Scope, img)
	}
	sameJSON(t, "vulnerability finding", get(t, s, v).Finding, v)
	ch = record(t, s, img, hour(2))
	if len(ch.Resolved) != 1 || ch.Resolved[0].ResolvedAt == nil || !ch.Resolved[0].ResolvedAt.Equal(hour(2)) {
		t.Errorf("re-matching the image without the vulnerability: resolved %+v", ch.Resolved)
	}
}

// testDuplicates: two findings with one fingerprint in one audit are one record.
func testDuplicates(t *testing.T, open Open) {
	s := open(t)
	a := mk("privileged-container", "shop", "web", finding.Critical)
	ch := record(t, s, store.ScopeCluster, hour(0), a, a)
	if len(ch.New) != 1 || ch.Scan.Findings != 1 {
		t.Errorf("duplicate findings: new %d, scan findings %d; want 1", len(ch.New), ch.Scan.Findings)
	}
}

// many makes n findings spread over namespaces, severities, checks and phases.
func many(n int) []finding.Finding {
	checks := []string{"privileged-container", "run-as-root", "host-path", "latest-tag"}
	fs := make([]finding.Finding, n)
	for i := range fs {
		fs[i] = mk(checks[i%len(checks)], fmt.Sprintf("ns-%d", i%5), fmt.Sprintf("app-%03d", i), finding.Severity(i%5))
		if i%7 == 0 {
			fs[i].Phase = finding.PhaseBuild
		}
	}
	return fs
}

// testPagination: pages cover every record once, most severe first, and a cursor stays valid
// while audits add and resolve findings between pages.
func testPagination(t *testing.T, open Open) {
	s := open(t)
	fs := many(250)
	record(t, s, store.ScopeCluster, hour(0), fs...)

	var all []store.Record
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		recs, next, err := s.Findings(ctx(t), store.Query{Limit: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if next != "" && len(recs) != 7 {
			t.Fatalf("a page before the end has %d records, want 7", len(recs))
		}
		all = append(all, recs...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 250 {
		t.Fatalf("pages hold %d records, want 250", len(all))
	}
	seen := map[string]bool{}
	for i, r := range all {
		if seen[r.ID] {
			t.Fatalf("record %s on two pages", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.Finding.Severity > all[i-1].Finding.Severity {
			t.Fatalf("record %d is more severe than the one before it", i)
		}
	}
	if recs, _, _ := s.Findings(ctx(t), store.Query{}); len(recs) != 100 {
		t.Errorf("default page size %d, want 100", len(recs))
	}
	if recs, _, _ := s.Findings(ctx(t), store.Query{Limit: 5000}); len(recs) != 250 {
		t.Errorf("a limit above the maximum: %d records", len(recs))
	}

	// Walk again, and between pages resolve the first 20 findings and add 30 new ones: every
	// finding present throughout is returned exactly once.
	first, next, err := s.Findings(ctx(t), store.Query{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	changed := append(slices.Clone(fs[20:]), many(280)[250:]...)
	for i := 250; i < 280; i++ {
		changed[len(changed)-280+i].Resource.Name = fmt.Sprintf("late-%03d", i)
	}
	record(t, s, store.ScopeCluster, hour(1), changed...)
	got := map[string]int{}
	for _, r := range first {
		got[r.ID]++
	}
	for next != "" {
		var recs []store.Record
		recs, next, err = s.Findings(ctx(t), store.Query{Limit: 50, After: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got[r.ID]++
		}
	}
	for i := 20; i < 250; i++ {
		if n := got[store.Fingerprint(&fs[i])]; n != 1 {
			t.Errorf("finding %d present throughout was returned %d times", i, n)
		}
	}
}

// testFilters: every Query field selects what it says.
func testFilters(t *testing.T, open Open) {
	s := open(t)
	fs := many(100)
	fs[3].Message = "Mounts the Docker SOCKET from the host"
	for i := range 4 {
		fs[i].Location.Digest = "sha256:" + strings.Repeat("ab", 32)
	}
	record(t, s, store.ScopeCluster, hour(0), fs...)
	// A later audit resolves app-000..app-009 and moves the others' last seen.
	record(t, s, store.ScopeCluster, hour(2), fs[10:]...)
	sup := mk("host-pid", "ns-9", "suppressed-app", finding.High)
	sup.Suppressed = &finding.Suppression{Source: "config", Reason: "accepted"}
	if _, err := s.AddFindings(ctx(t), "runtime", hour(3), []finding.Finding{sup}); err != nil {
		t.Fatal(err)
	}

	count := func(pred func(f finding.Finding, i int) bool) int {
		n := 0
		for i, f := range fs {
			if pred(f, i) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name string
		q    store.Query
		want int
	}{
		{"everything", store.Query{}, 101},
		{"phase build", store.Query{Phase: []finding.Phase{finding.PhaseBuild}}, count(func(f finding.Finding, _ int) bool { return f.Phase == finding.PhaseBuild })},
		{"phase deploy or build", store.Query{Phase: []finding.Phase{finding.PhaseBuild, finding.PhaseDeploy}}, 101},
		{"severity critical", store.Query{Severity: []finding.Severity{finding.Critical}}, count(func(f finding.Finding, _ int) bool { return f.Severity == finding.Critical })},
		{"severity high or critical", store.Query{Severity: []finding.Severity{finding.High, finding.Critical}}, 1 + count(func(f finding.Finding, _ int) bool { return f.Severity >= finding.High })},
		{"namespace", store.Query{Namespace: "ns-2"}, 20},
		{"workload Kind/name", store.Query{Workload: "Deployment/app-042"}, 1},
		{"workload of another kind", store.Query{Workload: "StatefulSet/app-042"}, 0},
		{"workload name", store.Query{Workload: "app-042"}, 1},
		{"check", store.Query{Check: "host-path"}, 25},
		{"state open", store.Query{State: "open"}, 91},
		{"state resolved", store.Query{State: "resolved"}, 10},
		{"state suppressed", store.Query{State: "suppressed"}, 1},
		{"scope", store.Query{Scope: "runtime"}, 1},
		{"image digest", store.Query{Digest: "sha256:" + strings.Repeat("ab", 32)}, 4},
		{"image digest, open", store.Query{Digest: "sha256:" + strings.Repeat("ab", 32), State: "open"}, 0},
		{"since", store.Query{Since: hour(1)}, 91},
		{"since, exactly", store.Query{Since: hour(3)}, 1},
		{"text, any case", store.Query{Text: "docker socket"}, 1},
		{"text in the resource name", store.Query{Text: "APP-04"}, 10},
		{"text with wildcards is literal", store.Query{Text: "app_04%"}, 0},
		{"combined", store.Query{Namespace: "ns-0", Check: "privileged-container", State: "open"}, count(func(f finding.Finding, i int) bool {
			return i >= 10 && f.Resource.Namespace == "ns-0" && f.Check == "privileged-container"
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 1000
			recs, next, err := s.Findings(ctx(t), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.want || next != "" {
				t.Errorf("%d records (next %q), want %d", len(recs), next, tc.want)
			}
		})
	}
}

// testInvalidQueries: an unknown filter value is an error the API turns into a 400, never an
// empty list.
func testInvalidQueries(t *testing.T, open Open) {
	s := open(t)
	record(t, s, store.ScopeCluster, hour(0), many(3)...)
	for name, q := range map[string]store.Query{
		"state":    {State: "closed"},
		"severity": {Severity: []finding.Severity{finding.Critical + 1}},
		"phase":    {Phase: []finding.Phase{"runtme"}},
		"cursor":   {After: "not-a-cursor"},
		"limit":    {Limit: -1},
		"workload": {Workload: "Deployment/"},
		"text":     {Text: strings.Repeat("x", 5000)},
	} {
		t.Run(name, func(t *testing.T) {
			recs, _, err := s.Findings(ctx(t), q)
			if !errors.Is(err, store.ErrInvalidQuery) {
				t.Errorf("Findings(%+v) = %d records, %v; want ErrInvalidQuery", q, len(recs), err)
			}
		})
	}
}

func testNotFound(t *testing.T, open Open) {
	s := open(t)
	if _, err := s.Finding(ctx(t), "0123"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Finding of an unknown ID: %v, want ErrNotFound", err)
	}
	if _, err := s.History(ctx(t), "0123"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("History of an unknown ID: %v, want ErrNotFound", err)
	}
	if _, err := s.Image(ctx(t), "sha256:00"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Image of an unknown digest: %v, want ErrNotFound", err)
	}
}

// testConcurrentWriters: audits of several scopes and readers at once all succeed, and each
// scope ends as its last audit left it.
func testConcurrentWriters(t *testing.T, open Open) {
	s := open(t)
	const writers, rounds = 6, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2)
	for w := range writers {
		wg.Go(func() {
			scope := store.Scope(fmt.Sprintf("image:w%d", w))
			for r := range rounds {
				fs := many(40 + r)
				for i := range fs {
					fs[i].Resource.Name = fmt.Sprintf("w%d-%d", w, i)
				}
				if _, err := s.RecordScan(context.Background(), scope, hour(r), hour(r), fs, ""); err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, r, err)
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range rounds * 2 {
				if _, _, err := s.Findings(context.Background(), store.Query{Limit: 50}); err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range writers {
		scope := store.Scope(fmt.Sprintf("image:w%d", w))
		recs, _, err := s.Findings(ctx(t), store.Query{Scope: scope, State: "open", Limit: 1000})
		if err != nil || len(recs) != 40+rounds-1 {
			t.Errorf("%s: %d open findings, %v; want %d", scope, len(recs), err, 40+rounds-1)
		}
		scans, _ := s.Scans(ctx(t), scope, 100)
		if len(scans) != rounds {
			t.Errorf("%s: %d scans, want %d", scope, len(scans), rounds)
		}
	}
}
