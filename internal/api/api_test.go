package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/estate"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/testenv"
	"redoubt.dev/redoubt/internal/vuln"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The times of the two cluster audits the fixture stores.
var (
	t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// env is a real SQLite store filled through RecordScan with the findings of a real audit of
// a generated estate (two audits: the second no longer finds one workload's findings, so they
// are resolved), a real image inventory with its vulnerability findings, and the API served
// over HTTP with authentication and authorization by the real API server of testenv.
type env struct {
	cluster *testenv.Cluster
	admin   kubernetes.Interface
	store   store.Store
	url     string
	// reviews counts the TokenReviews and SubjectAccessReviews the API sent.
	tokenReviews, accessReviews *atomic.Int64
	// gone is the workload whose findings the second audit no longer produced.
	gone finding.Resource
	// imageDigest is the stored image; imageWorkload the workload its findings are about.
	imageDigest   string
	imageWorkload finding.Resource
	report        *image.Report
	auth          *Kubernetes
	// reviewer is the counted client the API's reviews go through.
	reviewer kubernetes.Interface
}

var (
	fixtureOnce sync.Once
	fixtureVal  *env
	fixtureErr  error
	// imageErr is why the test image could not be built, reported by fixture.Need.
	imageErr error
)

// the policy of the audits: one exception, so some stored findings are suppressed.
const policy = `exceptions:
  - check: image-without-digest
    resources: [{namespace: team-001}]
    reason: the team pins by tag until the registry keeps digests
    owner: team-001
`

func newFixture(t *testing.T) *env {
	t.Helper()
	c := testenv.Shared(t)
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = buildFixture(c) })
	fixture.Need(t, imageErr)
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureVal
}

func buildFixture(c *testenv.Cluster) (*env, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "redoubt-api-test-")
	if err != nil {
		return nil, err
	}
	// The store and the estate outlive the test that built them: every test of the package uses them.
	estateDir := filepath.Join(dir, "estate")
	if _, err := estate.Write(estateDir, estate.Options{Workloads: 24, Namespaces: 3}); err != nil {
		return nil, err
	}
	snap, err := manifest.Load(ctx, []string{estateDir}, manifest.Options{})
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse("policy.yaml", []byte(policy))
	if err != nil {
		return nil, err
	}
	res, err := audit.Run(ctx, snap, audit.Options{Config: cfg, Now: t0})
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		return nil, err
	}
	f := &env{cluster: c, store: st, tokenReviews: new(atomic.Int64), accessReviews: new(atomic.Int64)}
	if _, err := st.RecordScan(ctx, store.ScopeCluster, t0, t0, res.Findings, "first audit"); err != nil {
		return nil, err
	}
	// The second audit no longer finds the first workload with findings: they are resolved.
	var second []finding.Finding
	for _, fd := range res.Findings {
		if f.gone.Name == "" && fd.Resource.Kind == "Deployment" {
			f.gone = fd.Resource.Workload()
		}
		if fd.Resource.Workload() != f.gone {
			second = append(second, fd)
		}
	}
	if _, err := st.RecordScan(ctx, store.ScopeCluster, t1, t1, second, "second audit"); err != nil {
		return nil, err
	}

	// A real image, its inventory matched against real vulnerability data, and its findings on
	// one workload in their own scope, as serve stores them.
	rep, err := appReport(ctx)
	if err != nil {
		imageErr = err
		return nil, err
	}
	f.report, f.imageDigest = rep, rep.Digest
	if err := st.PutImage(ctx, &store.Image{Digest: rep.Digest, Refs: []string{rep.Ref}, Report: rep, ScannedAt: t0, MatchedAt: t1, DBVersion: "test"}); err != nil {
		return nil, err
	}
	f.imageWorkload = finding.Resource{Namespace: "team-000", Kind: "Deployment", Name: "uses-app-image"}
	res0 := f.imageWorkload
	res0.Container = "app"
	imgFindings := imagescan.Findings(rep, res0, finding.Location{})
	if _, err := st.RecordScan(ctx, store.Scope("image:"+rep.Digest), t1, t1, imgFindings, "matched"); err != nil {
		return nil, err
	}

	// The API authenticates and authorizes through the API server, counting the reviews.
	cfgAdmin := rest.CopyConfig(c.Admin)
	cfgAdmin.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/tokenreviews"):
				f.tokenReviews.Add(1)
			case strings.HasSuffix(r.URL.Path, "/subjectaccessreviews"):
				f.accessReviews.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	f.admin, err = kubernetes.NewForConfig(c.Admin)
	if err != nil {
		return nil, err
	}
	reviewer, err := kubernetes.NewForConfig(cfgAdmin)
	if err != nil {
		return nil, err
	}
	// Denials are not cached, so the RBAC tests see a grant as soon as the authorizer does.
	auth := NewKubernetes(reviewer, KubernetesOptions{DenyTTL: -1})
	f.auth, f.reviewer = auth, reviewer
	h := New(Options{Store: st, Authenticator: auth, Authorizer: auth,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: func() time.Time { return t1 }})
	srv := httptest.NewServer(h)
	f.url = srv.URL
	return f, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// appReport scans the test application image (real Debian, npm, Go and Rust packages) and
// matches it against real vulnerability data.
func appReport(ctx context.Context) (*image.Report, error) {
	app, err := fixture.AppImage(ctx)
	if err != nil {
		return nil, err
	}
	cache, err := fixture.CacheDir()
	if err != nil {
		return nil, err
	}
	dbDir, err := fixture.VulnDB(ctx, cache)
	if err != nil {
		return nil, err
	}
	db, err := vuln.Open(dbDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tmp, err := os.MkdirTemp("", "redoubt-api-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rep, err := image.Scan(ctx, &image.Source{Ref: "example.test/app:1.0", Image: app.Image}, image.Options{TempDir: tmp})
	if err != nil {
		return nil, err
	}
	if err := imagescan.Match(ctx, rep, db, imagescan.MatchOptions{}); err != nil {
		return nil, err
	}
	if rep.Digest == "" {
		h, err := app.Image.Digest()
		if err != nil {
			return nil, err
		}
		rep.Digest = h.String()
	}
	return rep, nil
}

func (f *env) token(t *testing.T, user string) string {
	t.Helper()
	tok, ok := f.cluster.Tokens[user]
	if !ok {
		t.Fatalf("testenv has no token for %s", user)
	}
	return tok
}

// do sends a request with a bearer token ("" for none) and returns the status and body.
func (f *env) do(t *testing.T, method, token, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, data
}

func (f *env) get(t *testing.T, token, path string, out any) int {
	t.Helper()
	status, data := f.do(t, http.MethodGet, token, path, nil)
	if status == http.StatusOK && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, data)
		}
	}
	if status != http.StatusOK && out != nil {
		t.Logf("GET %s: %d %s", path, status, data)
	}
	return status
}

// errorOf decodes {"error": "..."} and fails when the body is not that shape.
func errorOf(t *testing.T, data []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Error == "" {
		t.Fatalf("error body %q is not {\"error\": \"...\"}", data)
	}
	return e.Error
}

// walk reads every page of a findings query as admin and fails on a repeated record.
func (f *env) walk(t *testing.T, query string, limit int) []store.Record {
	t.Helper()
	var all []store.Record
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		v, _ := url.ParseQuery(query)
		v.Set("limit", fmt.Sprint(limit))
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		var page Page[store.Record]
		if st := f.get(t, f.token(t, testenv.AdminUser), "/api/v1/findings?"+v.Encode(), &page); st != http.StatusOK {
			t.Fatalf("findings?%s: status %d", v.Encode(), st)
		}
		if len(page.Items) > limit {
			t.Fatalf("a page of limit %d holds %d items", limit, len(page.Items))
		}
		for _, r := range page.Items {
			if seen[r.ID] {
				t.Fatalf("finding %s is on two pages", r.ID)
			}
			seen[r.ID] = true
			all = append(all, r)
		}
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

func ids(recs []store.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, header string
		want         int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic YWxpY2U6c2VjcmV0", http.StatusUnauthorized},
		{"empty bearer token", "Bearer ", http.StatusUnauthorized},
		{"invalid token", "Bearer not-a-token-the-api-server-knows", http.StatusUnauthorized},
		{"admin", "Bearer " + f.token(t, testenv.AdminUser), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+"/api/v1/findings", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, data)
			}
			if tt.want == http.StatusUnauthorized {
				errorOf(t, data)
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("a 401 without WWW-Authenticate")
				}
			}
		})
	}
}

// TestTokenReviewsAreCached: repeated requests with one token cost one TokenReview and one
// SubjectAccessReview, not one per request.
func TestTokenReviewsAreCached(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, testenv.AdminUser)
	f.get(t, tok, "/api/v1/scans", nil) // fill the caches
	tr, sar := f.tokenReviews.Load(), f.accessReviews.Load()
	for range 20 {
		if st := f.get(t, tok, "/api/v1/scans", nil); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
	}
	if got := f.tokenReviews.Load() - tr; got != 0 {
		t.Errorf("20 requests with a cached token sent %d TokenReviews, want 0", got)
	}
	if got := f.accessReviews.Load() - sar; got != 0 {
		t.Errorf("20 requests with a cached decision sent %d SubjectAccessReviews, want 0", got)
	}
}

// TestConcurrentRequestsShareOneReview: a burst of requests with a token not yet cached (a
// dashboard opening) sends one TokenReview and one SubjectAccessReview, not one per request.
func TestConcurrentRequestsShareOneReview(t *testing.T) {
	f := newFixture(t)
	auth := NewKubernetes(f.reviewer, KubernetesOptions{})
	srv := httptest.NewServer(New(Options{Store: f.store, Authenticator: auth, Authorizer: auth,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}))
	defer srv.Close()
	tr, sar := f.tokenReviews.Load(), f.accessReviews.Load()
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/scans", nil)
			req.Header.Set("Authorization", "Bearer "+f.token(t, testenv.AdminUser))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("request %d: status %d", i, st)
		}
	}
	// Requests that arrive after the first review finished hit the cache; those during it wait
	// for it. Either way, one review of each kind.
	if got := f.tokenReviews.Load() - tr; got != 1 {
		t.Errorf("20 concurrent requests sent %d TokenReviews, want 1", got)
	}
	if got := f.accessReviews.Load() - sar; got != 1 {
		t.Errorf("20 concurrent requests sent %d SubjectAccessReviews, want 1", got)
	}
}

// TestAuthorizationFollowsRBAC: alice, whom RBAC grants nothing, is refused; a Role in one
// namespace lets her read that namespace's findings only; a ClusterRole lets her read them all;
// creating exceptions needs its own grant.
func TestAuthorizationFollowsRBAC(t *testing.T) {
	f := newFixture(t)
	alice := f.token(t, testenv.AliceUser)
	ctx := t.Context()

	status, body := f.do(t, http.MethodGet, alice, "/api/v1/findings", nil)
	if status != http.StatusForbidden {
		t.Fatalf("alice without RBAC: status %d, want 403: %s", status, body)
	}
	if msg := errorOf(t, body); !strings.Contains(msg, `"alice"`) || !strings.Contains(msg, "list redoubt.dev/findings") {
		t.Errorf("the 403 does not say who may not do what: %q", msg)
	}
	exception := []byte(`{"check": "privileged-container", "resource": {"namespace": "team-000"}, "reason": "r", "owner": "o", "expires": "2027-01-01"}`)
	if status, body := f.do(t, http.MethodPost, alice, "/api/v1/exceptions", exception); status != http.StatusForbidden {
		t.Fatalf("alice POST exception without RBAC: status %d, want 403: %s", status, body)
	}

	// A Role in team-000: findings there, nothing elsewhere.
	for _, ns := range []string{"team-000", "team-001"} {
		if _, err := f.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
	}
	reader := []rbacv1.PolicyRule{{APIGroups: []string{Group}, Resources: []string{ResourceFindings}, Verbs: []string{"get", "list"}}}
	grant(t, f.admin, "team-000", "alice-reads-findings", reader)
	waitAllowed(t, f.admin, "alice", Attributes{Verb: "list", Resource: ResourceFindings, Namespace: "team-000"})

	var page Page[store.Record]
	if st := f.get(t, alice, "/api/v1/findings?namespace=team-000", &page); st != http.StatusOK {
		t.Fatalf("alice with a Role in team-000: status %d, want 200", st)
	}
	if len(page.Items) == 0 {
		t.Fatal("alice reads no findings in team-000")
	}
	for _, r := range page.Items {
		if r.Finding.Resource.Namespace != "team-000" {
			t.Errorf("alice's team-000 page holds a finding in %q", r.Finding.Resource.Namespace)
		}
	}
	if st := f.get(t, alice, "/api/v1/findings/"+page.Items[0].ID+"/history", nil); st != http.StatusOK {
		t.Errorf("alice reading the history of a team-000 finding: status %d, want 200", st)
	}
	if st := f.get(t, alice, "/api/v1/findings", nil); st != http.StatusForbidden {
		t.Errorf("alice with a Role in team-000 listing all namespaces: status %d, want 403", st)
	}
	if st := f.get(t, alice, "/api/v1/findings?namespace=team-001", nil); st != http.StatusForbidden {
		t.Errorf("alice with a Role in team-000 listing team-001: status %d, want 403", st)
	}
	other := f.walk(t, "namespace=team-001", 1)
	if st := f.get(t, alice, "/api/v1/findings/"+other[0].ID, nil); st != http.StatusForbidden {
		t.Errorf("alice reading a team-001 finding by ID: status %d, want 403", st)
	}
	if st := f.get(t, alice, "/api/v1/findings/"+strings.Repeat("0", 32), nil); st != http.StatusForbidden {
		t.Errorf("alice asking for a finding that does not exist: status %d, want 403 (a 404 would let her probe IDs)", st)
	}

	// Creating exceptions in team-000 is its own grant, and does not reach other namespaces.
	grant(t, f.admin, "team-000", "alice-adds-exceptions", []rbacv1.PolicyRule{{APIGroups: []string{Group}, Resources: []string{ResourceExceptions}, Verbs: []string{"create"}}})
	waitAllowed(t, f.admin, "alice", Attributes{Verb: "create", Resource: ResourceExceptions, Namespace: "team-000"})
	status, body = f.do(t, http.MethodPost, alice, "/api/v1/exceptions", exception)
	if status != http.StatusCreated {
		t.Fatalf("alice POST a team-000 exception with create there: status %d, want 201: %s", status, body)
	}
	var rec ExceptionRecord
	if err := json.Unmarshal(body, &rec); err != nil || rec.CreatedBy != "alice" || rec.Expires != "2027-01-01" {
		t.Errorf("created exception %s (%v)", body, err)
	}
	everywhere := []byte(`{"check": "privileged-container", "reason": "r", "owner": "o", "expires": "2027-01-01"}`)
	if status, body := f.do(t, http.MethodPost, alice, "/api/v1/exceptions", everywhere); status != http.StatusForbidden {
		t.Errorf("alice POST an exception for every namespace: status %d, want 403: %s", status, body)
	}

	// A ClusterRole bound cluster-wide: every namespace.
	grant(t, f.admin, "", "alice-reads-all-findings", reader)
	waitAllowed(t, f.admin, "alice", Attributes{Verb: "list", Resource: ResourceFindings})
	if st := f.get(t, alice, "/api/v1/findings", &page); st != http.StatusOK {
		t.Errorf("alice with a ClusterRoleBinding: status %d, want 200", st)
	}
	if st := f.get(t, alice, "/api/v1/scans", nil); st != http.StatusForbidden {
		t.Errorf("alice reading scans with findings access only: status %d, want 403", st)
	}
}

// grant binds alice to a Role in ns (or a ClusterRole cluster-wide when ns is "") with rules,
// and removes both when the test ends.
func grant(t *testing.T, cs kubernetes.Interface, ns, name string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: testenv.AliceUser}}
	if ns == "" {
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
			_ = cs.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
		})
		return
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().RoleBindings(ns).Delete(ctx, name, metav1.DeleteOptions{})
		_ = cs.RbacV1().Roles(ns).Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// waitAllowed waits until the API server's authorizer has seen new RBAC objects: it reaches the
// authorizer through informers, a moment after the create returns.
func waitAllowed(t *testing.T, cs kubernetes.Interface, user string, a Attributes) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{Group: Group, Version: "v1", Resource: a.Resource, Verb: a.Verb, Namespace: a.Namespace}}}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
		if err == nil && got.Status.Allowed {
			return
		}
	}
	t.Fatalf("the API server's authorizer did not allow %s %s within 30s", user, a)
}

// TestFindingFilters: each filter returns exactly the stored findings it describes, compared
// with the same filter applied in Go to every stored finding, page by page.
func TestFindingFilters(t *testing.T) {
	f := newFixture(t)
	all := f.walk(t, "", MaxPageSize)
	var open, resolved, suppressed int
	for _, r := range all {
		switch {
		case r.State == store.StateResolved:
			resolved++
		case r.Finding.Suppressed != nil:
			suppressed++
		default:
			open++
		}
	}
	if resolved == 0 || suppressed == 0 || open < 50 {
		t.Fatalf("the fixture is too thin to test filters: %d open, %d resolved, %d suppressed", open, resolved, suppressed)
	}
	someCheck := all[len(all)/2].Finding.Check
	someText := strings.ToUpper(f.gone.Name)
	tests := []struct {
		query string
		keep  func(r *store.Record) bool
	}{
		{"phase=deploy", func(r *store.Record) bool { return r.Finding.Phase == finding.PhaseDeploy }},
		{"phase=build,infra", func(r *store.Record) bool {
			return r.Finding.Phase == finding.PhaseBuild || r.Finding.Phase == finding.PhaseInfra
		}},
		{"severity=critical&severity=high", func(r *store.Record) bool { return r.Finding.Severity >= finding.High }},
		{"namespace=team-001", func(r *store.Record) bool { return r.Finding.Resource.Namespace == "team-001" }},
		// The workload filter names no namespace: svc-0000 is in every namespace of the estate.
		{"workload=" + f.gone.Kind + "/" + f.gone.Name, func(r *store.Record) bool {
			return r.Finding.Resource.Kind == f.gone.Kind && r.Finding.Resource.Name == f.gone.Name
		}},
		{"workload=" + f.gone.Kind + "/" + f.gone.Name + "&namespace=" + f.gone.Namespace, func(r *store.Record) bool { return r.Finding.Resource.Workload() == f.gone }},
		{"workload=" + f.gone.Name, func(r *store.Record) bool { return r.Finding.Resource.Name == f.gone.Name }},
		{"check=" + someCheck, func(r *store.Record) bool { return r.Finding.Check == someCheck }},
		{"state=open", func(r *store.Record) bool { return r.State == store.StateOpen }},
		{"state=resolved", func(r *store.Record) bool { return r.State == store.StateResolved }},
		{"state=suppressed", func(r *store.Record) bool { return r.State == store.StateOpen && r.Finding.Suppressed != nil }},
		{"since=" + t1.Format(time.RFC3339), func(r *store.Record) bool { return !r.LastSeen.Before(t1) }},
		{"digest=" + f.imageDigest, func(r *store.Record) bool { return r.Finding.Location.Digest == f.imageDigest }},
		{"scope=image:" + f.imageDigest, func(r *store.Record) bool { return r.Scope == store.Scope("image:"+f.imageDigest) }},
		{"q=" + url.QueryEscape(someText), func(r *store.Record) bool {
			s := strings.ToLower(r.Finding.Message + r.Finding.Title + r.Finding.Check + r.Finding.Resource.Name)
			return strings.Contains(s, strings.ToLower(someText))
		}},
		{"namespace=team-000&severity=medium&state=open", func(r *store.Record) bool {
			return r.Finding.Resource.Namespace == "team-000" && r.Finding.Severity == finding.Medium && r.State == store.StateOpen
		}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var want []store.Record
			for i := range all {
				if tt.keep(&all[i]) {
					want = append(want, all[i])
				}
			}
			if len(want) == 0 {
				t.Fatalf("no stored finding matches %s: the case tests nothing", tt.query)
			}
			got := f.walk(t, tt.query, 37)
			if !slices.Equal(ids(got), ids(want)) {
				t.Errorf("%s: %d findings, want %d", tt.query, len(got), len(want))
				wantIDs := ids(want)
				for _, r := range got {
					if !slices.Contains(wantIDs, r.ID) {
						t.Logf("unexpected: %s %s %+v %s", r.ID, r.Finding.Check, r.Finding.Resource, r.State)
					}
				}
			}
		})
	}
}

// TestPagination: small pages cover every finding once, most severe first, and a cursor stays
// valid while it is used.
func TestPagination(t *testing.T) {
	f := newFixture(t)
	all := f.walk(t, "", MaxPageSize)
	paged := f.walk(t, "", 7)
	if !slices.Equal(ids(paged), ids(all)) {
		t.Fatalf("pages of 7 hold %d findings, one page of 1000 %d", len(paged), len(all))
	}
	for i := 1; i < len(paged); i++ {
		if paged[i].Finding.Severity > paged[i-1].Finding.Severity {
			t.Fatalf("finding %d (%s) is more severe than the one before it", i, paged[i].Finding.Severity)
		}
	}
	var page Page[store.Record]
	f.get(t, f.token(t, testenv.AdminUser), "/api/v1/findings", &page)
	if len(page.Items) != min(DefaultPageSize, len(all)) || page.NextCursor == "" {
		t.Errorf("without limit: %d items, next %q; want %d and a cursor", len(page.Items), page.NextCursor, DefaultPageSize)
	}
}

// TestBadRequests: unknown parameters, values and cursors are a 400 naming the parameter.
func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	admin := f.token(t, testenv.AdminUser)
	tests := []struct{ path, want string }{
		{"/api/v1/findings?severity=urgent", `"severity"`},
		{"/api/v1/findings?state=closed", `"state"`},
		{"/api/v1/findings?check=no-such-check", `"check"`},
		{"/api/v1/findings?since=yesterday", `"since"`},
		{"/api/v1/findings?limit=1001", `"limit"`},
		{"/api/v1/findings?cursor=not-a-cursor", `"cursor"`},
		{"/api/v1/findings?namespce=team-000", `"namespce"`},
		{"/api/v1/findings/not-an-id", "finding ID"},
		{"/api/v1/workloads?phase=later", `"phase"`},
		{"/api/v1/workloads?cursor=o999999", `"cursor"`},
		{"/api/v1/scans?scope=everything", `"scope"`},
		{"/api/v1/images?cursor=nope", `"cursor"`},
		{"/api/v1/images/latest", "digest"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, admin, tt.path, nil)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			if msg := errorOf(t, body); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not name %s", msg, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/api/v1/nothing-here", http.StatusNotFound},
		{http.MethodDelete, "/api/v1/findings", http.StatusMethodNotAllowed},
		{http.MethodGet, "/api/v1/findings/" + strings.Repeat("0", 32), http.StatusNotFound},
		{http.MethodGet, "/api/v1/images/sha256:" + strings.Repeat("0", 64), http.StatusNotFound},
	} {
		status, body := f.do(t, tt.method, admin, tt.path, nil)
		if status != tt.want {
			t.Errorf("%s %s: status %d, want %d: %s", tt.method, tt.path, status, tt.want, body)
		}
		errorOf(t, body)
	}
}

func TestFindingAndHistory(t *testing.T) {
	f := newFixture(t)
	admin := f.token(t, testenv.AdminUser)
	gone := f.walk(t, "state=resolved&workload="+f.gone.Kind+"/"+f.gone.Name, MaxPageSize)
	if len(gone) == 0 {
		t.Fatal("no resolved finding for the workload the second audit lost")
	}
	var rec store.Record
	if st := f.get(t, admin, "/api/v1/findings/"+gone[0].ID, &rec); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if rec.ID != gone[0].ID || rec.State != store.StateResolved || rec.ResolvedAt == nil || !rec.ResolvedAt.Equal(t1) || !rec.FirstSeen.Equal(t0) {
		t.Errorf("record = %+v", rec)
	}
	var h History
	if st := f.get(t, admin, "/api/v1/findings/"+gone[0].ID+"/history", &h); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	var kinds []store.EventKind
	for _, e := range h.Events {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []store.EventKind{store.EventOpened, store.EventResolved}) || h.Finding.ID != rec.ID {
		t.Errorf("history events %v, want opened then resolved", kinds)
	}
}

// TestWorkloads: each workload's counts are its open findings no exception suppresses, by
// severity, and the most severe workloads come first.
func TestWorkloads(t *testing.T) {
	f := newFixture(t)
	want := map[finding.Resource]map[string]int{}
	for _, r := range f.walk(t, "state=open", MaxPageSize) {
		w := r.Finding.Resource.Workload()
		if want[w] == nil {
			want[w] = map[string]int{}
		}
		if r.Finding.Suppressed == nil {
			want[w][r.Finding.Severity.String()]++
		} else {
			want[w]["suppressed"]++
		}
	}
	var got []Workload
	cursor := ""
	for {
		var page Page[Workload]
		path := "/api/v1/workloads?limit=5"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if st := f.get(t, f.token(t, testenv.AdminUser), path, &page); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
		got = append(got, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d workloads, want %d", len(got), len(want))
	}
	for i, w := range got {
		key := finding.Resource{Cluster: w.Cluster, Namespace: w.Namespace, Kind: w.Kind, Name: w.Name}
		exp := want[key]
		for _, s := range finding.Severities() {
			if w.Counts[s.String()] != exp[s.String()] {
				t.Errorf("%s: %d %s findings, want %d", key, w.Counts[s.String()], s, exp[s.String()])
			}
		}
		if w.Suppressed != exp["suppressed"] {
			t.Errorf("%s: %d suppressed, want %d", key, w.Suppressed, exp["suppressed"])
		}
		if key == f.gone {
			t.Errorf("%s is listed, but all its findings are resolved", key)
		}
		if i > 0 && got[i-1].Total > 0 && w.Total > 0 {
			prev, _ := finding.ParseSeverity(got[i-1].Highest)
			cur, _ := finding.ParseSeverity(w.Highest)
			if cur > prev {
				t.Errorf("%s (highest %s) comes after a workload whose highest is %s", key, cur, prev)
			}
		}
		if key == f.imageWorkload && !slices.ContainsFunc(w.Images, func(i WorkloadImage) bool { return i.Digest == f.imageDigest }) {
			t.Errorf("%s runs the test image but lists images %v", key, w.Images)
		}
	}
}

func TestImages(t *testing.T) {
	f := newFixture(t)
	admin := f.token(t, testenv.AdminUser)
	var page Page[ImageSummary]
	if st := f.get(t, admin, "/api/v1/images", &page); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if len(page.Items) != 1 || page.Items[0].Digest != f.imageDigest {
		t.Fatalf("images = %+v", page.Items)
	}
	s := page.Items[0]
	total := 0
	for _, n := range s.Vulnerabilities {
		total += n
	}
	if s.Packages != len(f.report.Packages) || total != len(f.report.Vulnerabilities) || s.Layers != len(f.report.Layers) || total == 0 {
		t.Errorf("summary %+v; the report has %d packages, %d vulnerabilities, %d layers", s, len(f.report.Packages), len(f.report.Vulnerabilities), len(f.report.Layers))
	}
	var d ImageDetail
	if st := f.get(t, admin, "/api/v1/images/"+f.imageDigest, &d); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if d.Report == nil || len(d.Report.Packages) != len(f.report.Packages) || len(d.Report.Vulnerabilities) != len(f.report.Vulnerabilities) {
		t.Errorf("the image detail does not carry the inventory")
	}
	if !slices.Equal(d.Workloads, []finding.Resource{f.imageWorkload}) {
		t.Errorf("workloads running the image = %v, want %v", d.Workloads, f.imageWorkload)
	}
}

func TestScans(t *testing.T) {
	f := newFixture(t)
	var page Page[store.Scan]
	if st := f.get(t, f.token(t, testenv.AdminUser), "/api/v1/scans?scope=cluster", &page); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if len(page.Items) != 2 || page.Items[0].Note != "second audit" || page.Items[1].Note != "first audit" || page.Items[0].Resolved == 0 {
		t.Errorf("cluster scans = %+v, want the second audit (with resolved findings) first", page.Items)
	}
	if st := f.get(t, f.token(t, testenv.AdminUser), "/api/v1/scans?limit=1", &page); st != http.StatusOK || len(page.Items) != 1 {
		t.Errorf("limit=1: status %d, %d scans", st, len(page.Items))
	}
}

// TestExceptions: the body is checked field by field, bounded in size, and a valid exception is
// stored and listed with who added it.
func TestExceptions(t *testing.T) {
	f := newFixture(t)
	admin := f.token(t, testenv.AdminUser)
	for _, tt := range []struct{ body, want string }{
		{`{"check": "privileged-container", "reason": "r", "owner": "o"}`, `field "expires"`},
		{`{"check": "privileged-container", "owner": "o", "expires": "2027-01-01"}`, `field "reason"`},
		{`{"check": ["privileged-container"], "reason": "r", "owner": "o", "expires": "2027-01-01"}`, `field "check"`},
		{`{"check": "privileged-container", "reason": "r", "owner": "o", "expires": "2027-01-01", "approved": true}`, `unknown field "approved"`},
		{`{"check": "privileged-container", "reason": "r"`, "malformed JSON"},
	} {
		status, body := f.do(t, http.MethodPost, admin, "/api/v1/exceptions", []byte(tt.body))
		if status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tt.body, status)
			continue
		}
		if msg := errorOf(t, body); !strings.Contains(msg, tt.want) {
			t.Errorf("%s: error %q does not say %s", tt.body, msg, tt.want)
		}
	}
	huge := []byte(`{"reason": "` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`)
	if status, body := f.do(t, http.MethodPost, admin, "/api/v1/exceptions", huge); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB: status %d, want 413: %.200s", status, body)
	}

	status, body := f.do(t, http.MethodPost, admin, "/api/v1/exceptions",
		[]byte(`{"vulnerability": "CVE-2023-0001", "images": ["example.test/app:*"], "reason": "not reachable", "owner": "team-app", "expires": "2027-03-01"}`))
	if status != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", status, body)
	}
	var created ExceptionRecord
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	var list Page[ExceptionRecord]
	if st := f.get(t, admin, "/api/v1/exceptions", &list); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	i := slices.IndexFunc(list.Items, func(e ExceptionRecord) bool { return e.ID == created.ID })
	if i < 0 {
		t.Fatalf("the created exception %s is not listed", created.ID)
	}
	if e := list.Items[i]; e.CreatedBy != testenv.AdminUser || e.Expires != "2027-03-01" || e.Owner != "team-app" || e.Expired ||
		!slices.Equal(e.Vulnerabilities, []string{"CVE-2023-0001"}) {
		t.Errorf("listed exception = %+v", e)
	}
}

// TestTimeout: a request whose work outlasts Options.Timeout is answered 503 with a JSON error
// that says so, not left hanging.
func TestTimeout(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(New(Options{Store: f.store, Authenticator: f.auth, Authorizer: f.auth, Timeout: time.Nanosecond,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}))
	defer srv.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/workloads", nil)
	req.Header.Set("Authorization", "Bearer "+f.token(t, testenv.AdminUser))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", resp.StatusCode, body)
	}
	errorOf(t, body)
}

// TestOpenAPIMatchesRoutes walks the OpenAPI document: every path and method it describes is
// served (requested with real IDs, answered 2xx), and every route the handler serves is in it.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	status, body := f.do(t, http.MethodGet, "", "/api/v1/openapi.json", nil)
	if status != http.StatusOK {
		t.Fatalf("openapi.json without a token: status %d", status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	rec := f.walk(t, "", 1)[0]
	values := map[string]string{"{id}": rec.ID, "{digest}": f.imageDigest}
	for path, ops := range doc.Paths {
		for method := range ops {
			method = strings.ToUpper(method)
			documented[method+" "+path] = true
			concrete := path
			for k, v := range values {
				concrete = strings.ReplaceAll(concrete, k, v)
			}
			if strings.Contains(concrete, "{") {
				t.Errorf("%s %s: no test value for its path parameter", method, path)
				continue
			}
			var reqBody []byte
			if method == http.MethodPost {
				reqBody = []byte(`{"check": "privileged-container", "reason": "r", "owner": "o", "expires": "2027-01-01"}`)
			}
			st, b := f.do(t, method, f.token(t, testenv.AdminUser), concrete, reqBody)
			if st < 200 || st > 299 {
				t.Errorf("%s %s (documented): status %d: %s", method, concrete, st, b)
			}
		}
	}
	h := New(Options{Store: f.store, Authenticator: NewKubernetes(f.admin, KubernetesOptions{}), Authorizer: NewKubernetes(f.admin, KubernetesOptions{})}).(*handler)
	for _, rt := range h.routes() {
		for method := range rt.methods {
			if !documented[method+" "+rt.path] {
				t.Errorf("%s %s is served but not in openapi.json", method, rt.path)
			}
			delete(documented, method+" "+rt.path)
		}
	}
	for op := range documented {
		t.Errorf("%s is in openapi.json but not a route", op)
	}
}
