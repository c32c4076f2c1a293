package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/inventory/probe"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// running is a server under test: its loop runs in the test process against a real SQLite store
// and the real control plane, and its handler is served by httptest.
type running struct {
	*Server
	store store.Store
	http  *httptest.Server
	conn  *cluster.Connection
}

func startServer(t *testing.T, conn *cluster.Connection, opts Options) *running {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	opts.Conn, opts.Store = conn, st
	if opts.Debounce == 0 {
		opts.Debounce = 300 * time.Millisecond
	}
	opts.Observe = func(ctx context.Context, snap *inventory.Snapshot) { probe.Observe(ctx, conn.Config, snap) }
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		st.Close()
	})
	return &running{Server: s, store: st, http: hs, conn: conn}
}

// testWriter sends the server's logs to the test log, shown when a test fails.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func connect(t *testing.T, c *testenv.Cluster) *cluster.Connection {
	t.Helper()
	conn, err := cluster.Connect(cluster.Target{Kubeconfig: c.KubeconfigPath})
	if err != nil {
		t.Fatal(err)
	}
	conn.Config.WarningHandler = rest.NoWarnings{}
	return conn
}

// waitFor polls cond (the test's own polling, not the server's) until it holds or the time is up.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, last)
}

func (r *running) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, "the first stored audit", 60*time.Second, func() (bool, string) {
		code, body := r.get(t, "/readyz")
		return code == http.StatusOK, body
	})
}

// waitIdle waits until no change is waiting for an audit.
func (r *running) waitIdle(t *testing.T) {
	t.Helper()
	waitFor(t, "the loop to go idle", 60*time.Second, func() (bool, string) {
		st := r.Stats()
		return !st.Pending, fmt.Sprintf("%+v", st)
	})
}

func (r *running) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(r.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stored returns every open finding of the cluster scope, sorted as audit.Run sorts them.
func (r *running) stored(t *testing.T, q store.Query) []store.Record {
	t.Helper()
	q.Scope, q.Limit = store.ScopeCluster, 1000
	var out []store.Record
	for {
		page, next, err := r.store.Findings(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		q.After = next
	}
}

func findingsOf(rs []store.Record) []finding.Finding {
	fs := make([]finding.Finding, len(rs))
	for i := range rs {
		fs[i] = rs[i].Finding
	}
	finding.Sort(fs)
	return fs
}

// scanOf is what `redoubt scan --kubeconfig` finds in the cluster now: cluster.Load, the live
// observations, audit.Run.
func scanOf(t *testing.T, conn *cluster.Connection) []finding.Finding {
	t.Helper()
	ctx := context.Background()
	snap, err := cluster.Load(ctx, conn, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	probe.Observe(ctx, conn.Config, snap)
	res, err := audit.Run(ctx, snap, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

func jsonLines(t *testing.T, fs []finding.Finding) []string {
	t.Helper()
	out := make([]string, len(fs))
	for i := range fs {
		b, err := json.Marshal(&fs[i])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// firstDifference names the first finding that differs between two lists of JSON lines.
func firstDifference(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("%d stored, %d scanned; first difference at #%d:\n stored:  %s\n scanned: %s", len(got), len(want), i, g, w)
		}
	}
	return ""
}

// TestServeStoresWhatScanFinds creates the example estate through client-go and checks that the
// findings serve stores are byte for byte (as JSON) the findings of a scan of the same cluster.
func TestServeStoresWhatScanFinds(t *testing.T) {
	c := testenv.Shared(t)
	c.Apply(t, exampleFiles(t)...)
	conn := connect(t, c)
	r := startServer(t, conn, Options{})
	r.waitReady(t)

	if r.Current() == nil || r.Current().Scan.ID == 0 {
		t.Fatalf("ready, but no stored scan is current: %+v", r.Current())
	}
	// The controller manager keeps creating ReplicaSets, Pods and tokens for a while after the
	// objects are made; compare once the loop has caught up, until the two agree.
	var detail string
	waitFor(t, "the stored findings to equal a scan's", 90*time.Second, func() (bool, string) {
		r.waitIdle(t)
		want := jsonLines(t, scanOf(t, conn))
		got := jsonLines(t, findingsOf(r.stored(t, store.Query{State: "open"})))
		detail = firstDifference(got, want)
		return detail == "", detail
	})
	fs := findingsOf(r.stored(t, store.Query{State: "open"}))
	if len(fs) < 20 {
		t.Fatalf("only %d findings stored for the example estate; the comparison proves little", len(fs))
	}
	var shop int
	for _, f := range fs {
		if strings.HasPrefix(f.Resource.Namespace, "shop-") {
			shop++
		}
	}
	if shop == 0 {
		t.Fatalf("no finding about the shop-* namespaces among %d: the example objects were not audited", len(fs))
	}

	code, body := r.get(t, "/metrics")
	for _, want := range []string{"redoubt_audits_total ", `redoubt_findings{phase="deploy",severity="high"}`,
		"redoubt_apiserver_reachable 1", "redoubt_audit_duration_seconds_bucket", "redoubt_watch_last_event_age_seconds"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("/metrics (HTTP %d) lacks %q:\n%s", code, want, body)
		}
	}
	if code, body := r.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: HTTP %d %s", code, body)
	}
}

// TestReadyzBeforeFirstAudit: a server that has not stored an audit is not ready, and says why.
func TestReadyzBeforeFirstAudit(t *testing.T) {
	c := testenv.Shared(t)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(Options{Conn: connect(t, c), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "[-]first-audit-stored no audit stored yet") {
		t.Fatalf("/readyz before any audit: HTTP %d\n%s", rec.Code, rec.Body)
	}
}

func deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
			},
		},
	}
}

func createNamespace(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func setPrivileged(t *testing.T, cs kubernetes.Interface, ns, name string, on bool) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if on {
			d.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
		} else {
			d.Spec.Template.Spec.Containers[0].SecurityContext = nil
		}
		_, err = cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// privileged returns the stored privileged-container findings of one Deployment, in any state.
func (r *running) privileged(t *testing.T, ns, name string, state string) []store.Record {
	return r.stored(t, store.Query{Check: "privileged-container", Namespace: ns, Workload: "Deployment/" + name, State: state})
}

// TestServeFollowsChanges makes a container privileged and sees the finding stored, then
// reverts it and sees the finding resolved, with its history.
func TestServeFollowsChanges(t *testing.T) {
	c := testenv.Shared(t)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ns := "serve-change"
	createNamespace(t, cs, ns)
	if _, err := cs.AppsV1().Deployments(ns).Create(context.Background(), deployment(ns, "web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, connect(t, c), Options{})
	r.waitReady(t)
	r.waitIdle(t)
	if got := r.privileged(t, ns, "web", ""); len(got) != 0 {
		t.Fatalf("a privileged-container finding before the container was made privileged: %+v", got)
	}

	setPrivileged(t, cs, ns, "web", true)
	var id string
	waitFor(t, "the privileged-container finding to be stored", 30*time.Second, func() (bool, string) {
		open := r.privileged(t, ns, "web", "open")
		if len(open) == 1 {
			id = open[0].ID
		}
		return len(open) == 1, fmt.Sprintf("%d open", len(open))
	})

	setPrivileged(t, cs, ns, "web", false)
	waitFor(t, "the privileged-container finding to be resolved", 30*time.Second, func() (bool, string) {
		rec, err := r.store.Finding(context.Background(), id)
		if err != nil {
			return false, err.Error()
		}
		return rec.State == store.StateResolved && rec.ResolvedAt != nil, string(rec.State)
	})
	events, err := r.store.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []store.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []store.EventKind{store.EventOpened, store.EventResolved}) {
		t.Fatalf("history of the finding: %v, want [opened resolved]", kinds)
	}
}

// TestServeBatchesBursts changes one object 200 times in a row and checks the loop audited the
// burst a few times, not 200, and that the last audit holds the last change.
func TestServeBatchesBursts(t *testing.T) {
	c := testenv.Shared(t)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ns := "serve-burst"
	createNamespace(t, cs, ns)
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"value-never-read": "x"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := startServer(t, connect(t, c), Options{Debounce: time.Second, MaxDelay: time.Minute})
	r.waitReady(t)
	r.waitIdle(t)
	before := r.Stats()

	const changes = 200
	for i := range changes {
		cm.Annotations = map[string]string{"example.com/revision": fmt.Sprint(i)}
		if cm, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the last change to be audited", 60*time.Second, func() (bool, string) {
		cur := r.Current()
		for _, m := range cur.Snapshot.ConfigMaps {
			if m.Namespace == ns && m.Name == "settings" {
				v := m.Annotations["example.com/revision"]
				return v == fmt.Sprint(changes-1) && !r.Stats().Pending, "revision " + v
			}
		}
		return false, "no ConfigMap settings in the snapshot"
	})
	after := r.Stats()
	audits, events := after.Audits-before.Audits, after.Events-before.Events
	t.Logf("%d changes seen, %d audits", events, audits)
	if events < changes {
		t.Fatalf("the informers saw %d changes, want at least %d", events, changes)
	}
	// Each update is one request (about 10 ms here); a pause of a whole second between two is
	// what it takes to split the burst, so a few audits are tolerated, never one per change.
	if audits < 1 || audits > 5 {
		t.Fatalf("%d changes made %d audits, want between 1 and 5", events, audits)
	}
	// Metadata informers: not even the keys of the data reach the server, let alone the values.
	for _, m := range r.Current().Snapshot.ConfigMaps {
		if m.Namespace == ns && len(m.Keys) != 0 {
			t.Fatalf("the ConfigMap's data was read: keys %v", m.Keys)
		}
	}
}

// TestServeSurvivesAPIServerOutage takes the API server away (a relay in front of it is closed),
// checks the server keeps serving the last state and says so, then brings it back and checks a
// change made meanwhile is audited.
func TestServeSurvivesAPIServerOutage(t *testing.T) {
	c := testenv.Shared(t)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ns := "serve-outage"
	createNamespace(t, cs, ns)

	target := strings.TrimPrefix(c.Server, "https://")
	px := newProxy(t, target)
	cfg := rest.CopyConfig(c.Admin)
	cfg.Host = "https://" + px.addr
	cfg.WarningHandler = rest.NoWarnings{}
	conn := &cluster.Connection{Config: cfg, Context: "relay", Cluster: "relay", Server: cfg.Host}
	r := startServer(t, conn, Options{})
	r.waitReady(t)
	r.waitIdle(t)
	before := len(r.stored(t, store.Query{State: "open"}))

	px.close()
	waitFor(t, "/readyz to report the API server unreachable", 60*time.Second, func() (bool, string) {
		code, body := r.get(t, "/readyz")
		return code == http.StatusOK && strings.Contains(body, "[-]apiserver-reachable unreachable since") &&
			strings.Contains(body, "serving the last state"), fmt.Sprintf("HTTP %d\n%s", code, body)
	})
	if _, body := r.get(t, "/metrics"); !strings.Contains(body, "redoubt_apiserver_reachable 0") {
		t.Fatalf("/metrics does not say the API server is unreachable:\n%s", grepLines(body, "redoubt_apiserver"))
	}
	if got := len(r.stored(t, store.Query{State: "open"})); got != before {
		t.Fatalf("%d open findings during the outage, %d before: the last state should stand", got, before)
	}

	// A change made while the server cannot see it.
	d := deployment(ns, "added-during-outage")
	d.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: new(true)}
	if _, err := cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	px.open()
	waitFor(t, "the change made during the outage to be stored", 90*time.Second, func() (bool, string) {
		got := r.privileged(t, ns, "added-during-outage", "open")
		return len(got) == 1, fmt.Sprintf("%d findings", len(got))
	})
	waitFor(t, "/readyz to report the API server reachable", 60*time.Second, func() (bool, string) {
		code, body := r.get(t, "/readyz")
		return code == http.StatusOK && strings.Contains(body, "[+]apiserver-reachable ok"), body
	})
}

func grepLines(s, substr string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// exampleFiles are the plain manifests of examples/shop (its Helm chart is left out: kubectl
// does not render charts).
func exampleFiles(t *testing.T) []string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	example := filepath.Join(root, "examples", "shop")
	var files []string
	err = filepath.WalkDir(example, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "charts" || (strings.HasPrefix(d.Name(), ".") && p != example)) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
