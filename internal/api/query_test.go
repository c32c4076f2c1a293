package api

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

func testHandler() *handler {
	return &handler{opts: Options{KnownCheck: func(id string) bool { return id == "privileged-container" }}}
}

func TestFindingQuery(t *testing.T) {
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		query string
		want  store.Query
	}{
		{"", store.Query{Limit: DefaultPageSize}},
		{"phase=deploy,build&phase=deploy", store.Query{Phase: []finding.Phase{finding.PhaseDeploy, finding.PhaseBuild}, Limit: DefaultPageSize}},
		{"severity=HIGH,critical", store.Query{Severity: []finding.Severity{finding.High, finding.Critical}, Limit: DefaultPageSize}},
		{"namespace=team-001&workload=Deployment/web&check=privileged-container&state=suppressed&q=root&limit=1000&cursor=abc",
			store.Query{Namespace: "team-001", Workload: "Deployment/web", Check: "privileged-container", State: "suppressed", Text: "root", Limit: 1000, After: "abc"}},
		{"workload=web&since=2026-12-01T00:00:00Z&scope=cluster", store.Query{Workload: "web", Since: since, Scope: store.ScopeCluster, Limit: DefaultPageSize}},
		{"scope=image:sha256:" + strings.Repeat("a", 64), store.Query{Scope: store.Scope("image:sha256:" + strings.Repeat("a", 64)), Limit: DefaultPageSize}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := testHandler().findingQuery(mustParams(t, tt.query))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(q, tt.want) {
				t.Errorf("query:\n got %+v\nwant %+v", q, tt.want)
			}
		})
	}
}

func mustParams(t *testing.T, query string) *params {
	t.Helper()
	p, err := readParams(&url.URL{RawQuery: query}, findingParams...)
	if err != nil {
		t.Fatalf("readParams(%q): %v", query, err)
	}
	return p
}

// TestFindingQueryRefuses checks that every value the store could not match is a 400 that names
// the parameter, never a query that would return an empty list.
func TestFindingQueryRefuses(t *testing.T) {
	tests := []struct{ query, param string }{
		{"phase=deploy,nope", `"phase"`},
		{"severity=urgent", `"severity"`},
		{"namespace=Not_A_Namespace", `"namespace"`},
		{"namespace=a&namespace=b", `"namespace"`},
		{"workload=a/b/c", `"workload"`},
		{"workload=/web", `"workload"`},
		{"check=no-such-check", `"check"`},
		{"state=closed", `"state"`},
		{"scope=image:latest", `"scope"`},
		{"digest=sha256:abc", `"digest"`},
		{"since=yesterday", `"since"`},
		{"since=2026-12-01", `"since"`},
		{"limit=0", `"limit"`},
		{"limit=1001", `"limit"`},
		{"limit=ten", `"limit"`},
		{"q=" + strings.Repeat("x", maxParamBytes+1), `"q"`},
		{"severty=high", `"severty"`},
		{"cursor=a&cursor=b", `"cursor"`},
	}
	for _, tt := range tests {
		t.Run(tt.query[:min(len(tt.query), 40)], func(t *testing.T) {
			p, err := readParams(&url.URL{RawQuery: tt.query}, findingParams...)
			if err == nil {
				_, err = testHandler().findingQuery(p)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			ae, ok := err.(*apiError)
			if !ok || ae.status != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			if !strings.Contains(ae.msg, tt.param) {
				t.Errorf("error %q does not name parameter %s", ae.msg, tt.param)
			}
		})
	}
}

func TestCursorOffset(t *testing.T) {
	for _, c := range []string{"x", "o-1", "o11", "10"} {
		if _, err := cursorOffset(c, 10); err == nil {
			t.Errorf("cursorOffset(%q, 10) accepted a cursor no list of 10 returns", c)
		}
	}
	if off, err := cursorOffset(offsetCursor(4, 10), 10); err != nil || off != 4 {
		t.Errorf("round trip of offset 4 = %d, %v", off, err)
	}
	if c := offsetCursor(10, 10); c != "" {
		t.Errorf("the cursor after the last item is %q, want empty", c)
	}
}
