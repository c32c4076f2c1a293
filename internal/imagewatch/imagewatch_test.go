package imagewatch

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/vuln"
)

const webRef = "registry.shop.internal/shop/web:2.14.1"

// minimist's advisory: present in one database, absent from the other.
const minimistGHSA = "GHSA-xvch-5gv4-984h"

// countingFetcher counts the images fetched: re-matching must fetch none.
type countingFetcher struct {
	Fetcher
	n atomic.Int64
}

func (c *countingFetcher) Fetch(ctx context.Context, ref, digest string) (*image.Source, error) {
	c.n.Add(1)
	return c.Fetcher.Fetch(ctx, ref, digest)
}

// appLayout writes the test application image (real packages) into an OCI layout under webRef.
func appLayout(t testing.TB) (dir, digest string) {
	t.Helper()
	app, err := fixture.AppImage(context.Background())
	fixture.Need(t, err)
	dir = filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(app.Image, layout.WithAnnotations(map[string]string{image.RefNameAnnotation: webRef})); err != nil {
		t.Fatal(err)
	}
	d, err := app.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return dir, d.String()
}

// snapshot is a live-cluster snapshot whose Deployments each run the image under its digest.
func snapshot(digests map[string][]string) *inventory.Snapshot {
	b := inventory.NewBuilder(inventory.Source{Kind: inventory.SourceCluster, Cluster: "test"}, "")
	for digest, names := range digests {
		for _, name := range names {
			d := &appsv1.Deployment{
				TypeMeta:   metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name)},
				Spec: appsv1.DeploymentSpec{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: webRef + "@" + digest}}},
					},
				},
			}
			b.Add(d, inventory.Origin{}, nil)
		}
	}
	return b.Snapshot()
}

func openStore(t testing.TB) Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// npmMirror writes an osv.dev-style mirror of the repository's real GHSA records for lodash
// and minimist, leaving out the records named in without.
func npmMirror(t testing.TB, without ...string) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "..", "vuln", "testdata", "ghsa")
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no GHSA records in %s: %v", src, err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "npm"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "npm", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, p := range files {
		if slices.Contains(without, strings.TrimSuffix(filepath.Base(p), ".json")) {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(filepath.Base(p))
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return dir
}

func importDB(t testing.TB, dir, mirror string) {
	t.Helper()
	if _, err := vuln.Import(context.Background(), dir, mirror, vuln.UpdateOptions{}); err != nil {
		t.Fatalf("importing %s into %s: %v", mirror, dir, err)
	}
}

func stored(t testing.TB, s Store, q store.Query) []store.Record {
	t.Helper()
	var out []store.Record
	for {
		page, next, err := s.Findings(context.Background(), q)
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

func about(r store.Record, id string) bool {
	v := r.Finding.Vulnerability
	return v != nil && (v.ID == id || slices.Contains(v.Aliases, id))
}

// TestFindingsAreScansFindings: the findings stored for a digest are exactly the image
// findings `redoubt scan --images` gives (imagescan.ScanSnapshot and Analyze) for the same
// layout, database and workloads.
func TestFindingsAreScansFindings(t *testing.T) {
	ctx := context.Background()
	dir, digest := appLayout(t)
	cache, err := fixture.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dbDir, err := fixture.VulnDB(ctx, cache)
	fixture.Need(t, err)
	lay, err := image.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	w, err := New(Options{Store: s, DBDir: dbDir, Fetcher: Sources{Layout: lay}, Scan: image.Options{TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	snap := snapshot(map[string][]string{digest: {"web", "web-canary"}})
	if n, err := w.SetSnapshot(ctx, snap); err != nil || n != 1 {
		t.Fatalf("SetSnapshot enqueued %d (%v), want the one digest", n, err)
	}
	if n, err := w.Work(ctx); err != nil || n != 1 {
		t.Fatalf("Work scanned %d (%v), want 1", n, err)
	}
	got := stored(t, s, store.Query{Scope: Scope(digest), State: "open"})

	// What scan does.
	db, err := vuln.Open(dbDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := snapshot(map[string][]string{digest: {"web", "web-canary"}})
	imagescan.ScanSnapshot(ctx, want, imagescan.ScanOptions{Layout: lay, DB: db, Scan: image.Options{TempDir: t.TempDir()}})
	wantFs := imagescan.Analyze(want)
	if len(wantFs) < 20 {
		t.Fatalf("scan gives only %d image findings: the fixture is not what this test expects", len(wantFs))
	}
	canon := func(fs []finding.Finding) []string {
		var out []string
		for _, f := range fs {
			b, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			json.Unmarshal(b, &v) // the store round-trips through JSON too
			b, _ = json.Marshal(v)
			out = append(out, string(b))
		}
		slices.Sort(out)
		return out
	}
	var gotFs []finding.Finding
	for _, r := range got {
		gotFs = append(gotFs, r.Finding)
	}
	g, wf := canon(gotFs), canon(wantFs)
	if !slices.Equal(g, wf) {
		for _, x := range wf {
			if !slices.Contains(g, x) {
				t.Errorf("scan gives, store lacks: %s", x)
				break
			}
		}
		for _, x := range g {
			if !slices.Contains(wf, x) {
				t.Errorf("store holds, scan does not give: %s", x)
				break
			}
		}
		t.Fatalf("stored %d findings, scan gives %d", len(g), len(wf))
	}
	t.Logf("%d findings, equal to scan's", len(g))

	// A digest already stored is not scanned again when another workload starts running it.
	if n, err := w.SetSnapshot(ctx, snapshot(map[string][]string{digest: {"web", "web-canary", "web-b"}})); err != nil || n != 0 {
		t.Errorf("stored digest enqueued again: %d (%v)", n, err)
	}
	if n := len(stored(t, s, store.Query{Scope: Scope(digest), State: "open"})); n != len(g)/2*3 {
		t.Errorf("three workloads run the image: %d open findings, want %d", n, len(g)/2*3)
	}
	// The image stops running: its findings resolve.
	if _, err := w.SetSnapshot(ctx, snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if n := len(stored(t, s, store.Query{Scope: Scope(digest), State: "open"})); n != 0 {
		t.Errorf("image no longer running: %d findings still open", n)
	}
}

// TestRematchOpensAndResolves: an advisory that appears in a new database opens a finding on
// the workload running the image, and resolves when a later database withdraws it; the image is
// never fetched again (its layout is deleted before re-matching).
func TestRematchOpensAndResolves(t *testing.T) {
	ctx := context.Background()
	dir, digest := appLayout(t)
	lay, err := image.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	without, with := npmMirror(t, minimistGHSA), npmMirror(t)
	dbDir := filepath.Join(t.TempDir(), "db")
	importDB(t, dbDir, without)

	s := openStore(t)
	fetch := &countingFetcher{Fetcher: Sources{Layout: lay}}
	w, err := New(Options{Store: s, DBDir: dbDir, Fetcher: fetch, Scan: image.Options{TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.SetSnapshot(ctx, snapshot(map[string][]string{digest: {"web"}})); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Work(ctx); err != nil || n != 1 {
		t.Fatalf("Work scanned %d (%v), want 1", n, err)
	}
	minimist := func() []store.Record {
		var out []store.Record
		for _, r := range stored(t, s, store.Query{Scope: Scope(digest)}) {
			if about(r, minimistGHSA) {
				out = append(out, r)
			}
		}
		return out
	}
	if m := minimist(); len(m) != 0 {
		t.Fatalf("a database without %s gave findings about it: %+v", minimistGHSA, m)
	}
	lodash := len(stored(t, s, store.Query{Scope: Scope(digest), Check: "image-vulnerability"}))
	if lodash == 0 {
		t.Fatal("no vulnerability finding from the lodash advisories: the test database is not what it expects")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	// Nothing changed: CheckDB is a stat, no re-match.
	if res, err := w.CheckDB(ctx); err != nil || res != nil {
		t.Fatalf("CheckDB with the same database: %+v, %v", res, err)
	}

	importDB(t, dbDir, with)
	res, err := w.CheckDB(ctx)
	if err != nil || res == nil {
		t.Fatalf("CheckDB after an import: %+v, %v", res, err)
	}
	t.Logf("re-match with the advisory: %+v", *res)
	m := minimist()
	if len(m) != 1 || m[0].State != store.StateOpen || m[0].Finding.Resource.Name != "web" || m[0].Finding.Location.Digest != digest {
		t.Fatalf("after the advisory appeared: %+v", m)
	}
	if res.Opened != 1 || res.Resolved != 0 || res.Changed != 1 || res.Images != 1 {
		t.Errorf("re-match result %+v, want 1 image changed, 1 finding opened", *res)
	}
	img, err := s.Image(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	if img.DBVersion != res.DBVersion || !slices.ContainsFunc(img.Report.Vulnerabilities, func(v image.Vulnerability) bool {
		return v.ID == minimistGHSA || slices.Contains(v.Aliases, minimistGHSA)
	}) {
		t.Errorf("stored inventory not re-matched: db %q, %d vulnerabilities", img.DBVersion, len(img.Report.Vulnerabilities))
	}

	importDB(t, dbDir, without)
	res, err = w.CheckDB(ctx)
	if err != nil || res == nil {
		t.Fatalf("CheckDB after the advisory was withdrawn: %+v, %v", res, err)
	}
	m = minimist()
	if len(m) != 1 || m[0].State != store.StateResolved || m[0].ResolvedAt == nil {
		t.Fatalf("after the advisory disappeared: %+v", m)
	}
	if res.Resolved != 1 || res.Opened != 0 {
		t.Errorf("re-match result %+v, want 1 resolved", *res)
	}
	if n := len(stored(t, s, store.Query{Scope: Scope(digest), Check: "image-vulnerability", State: "open"})); n != lodash {
		t.Errorf("%d vulnerability findings open, want the %d lodash ones untouched", n, lodash)
	}
	if n := fetch.n.Load(); n != 1 {
		t.Errorf("%d image fetches, want 1 (the first scan; re-matching fetches nothing)", n)
	}
}

// TestFailedScanIsRetried: an image that cannot be fetched is given back to the queue with a
// later retry time, and scanned once it can be.
func TestFailedScanIsRetried(t *testing.T) {
	ctx := context.Background()
	dir, digest := appLayout(t)
	dbDir := filepath.Join(t.TempDir(), "db")
	importDB(t, dbDir, npmMirror(t))
	s := openStore(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	w, err := New(Options{Store: s, DBDir: dbDir, Fetcher: Sources{}, Now: clock, RetryAfter: time.Minute, Scan: image.Options{TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.SetSnapshot(ctx, snapshot(map[string][]string{digest: {"web"}})); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Work(ctx); err != nil || n != 0 {
		t.Fatalf("Work without a source: %d, %v", n, err)
	}
	if n, _ := s.Pending(ctx); n != 1 {
		t.Fatalf("failed job not kept: %d pending", n)
	}
	if _, err := s.Image(ctx, digest); err == nil {
		t.Fatal("an image that was not scanned is stored")
	}
	lay, err := image.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.o.Fetcher = Sources{Layout: lay}
	if n, _ := w.Work(ctx); n != 0 {
		t.Fatalf("retried before its time: %d", n)
	}
	now = now.Add(time.Minute)
	if n, err := w.Work(ctx); err != nil || n != 1 {
		t.Fatalf("retry at its time: %d, %v", n, err)
	}
	if n, _ := s.Pending(ctx); n != 0 {
		t.Errorf("%d jobs pending after the scan", n)
	}
}

// BenchmarkRematch1000: re-matching 1,000 stored inventories (the test image's real report
// under 1,000 digests, each run by its own Deployment) after the vulnerability database changes.
// Target: at most 3 s per re-match.
//
//   - one-advisory: the full test database (Debian, Go, npm) alternately with and without
//     minimist's advisory, as an update that publishes or withdraws one advisory: every image
//     is re-matched and 1,000 findings (one per workload) open or resolve.
//   - one-advisory-10pct: the same, but only every tenth image has minimist (the others are the
//     report without it): an update that concerns some images, as most do.
//   - everything: alternately the full database and one with only the npm advisories, the
//     worst case: about 85 findings of each of the 1,000 images open or resolve at once.
func BenchmarkRematch1000(b *testing.B) {
	ctx := context.Background()
	app, err := fixture.AppImage(ctx)
	fixture.Need(b, err)
	cache, err := fixture.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	full, err := fixture.VulnDB(ctx, cache)
	fixture.Need(b, err)
	mirror, err := fixture.VulnMirror(ctx, cache)
	fixture.Need(b, err)
	rep, err := image.Scan(ctx, &image.Source{Ref: webRef, Image: app.Image}, image.Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("one-advisory", func(b *testing.B) {
		// The full mirror with the npm records replaced by all but minimist's.
		m := b.TempDir()
		for _, eco := range []string{"Debian", "Go"} {
			if err := os.Symlink(filepath.Join(mirror, eco), filepath.Join(m, eco)); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.Symlink(filepath.Join(npmMirror(b, minimistGHSA), "npm"), filepath.Join(m, "npm")); err != nil {
			b.Fatal(err)
		}
		less := filepath.Join(b.TempDir(), "db")
		importDB(b, less, m)
		b.Run("all", func(b *testing.B) { benchRematch(b, rep, full, less, 1) })
		b.Run("10pct", func(b *testing.B) { benchRematch(b, rep, full, less, 10) })
	})
	b.Run("everything", func(b *testing.B) {
		small := filepath.Join(b.TempDir(), "db")
		importDB(b, small, npmMirror(b))
		benchRematch(b, rep, full, small, 1)
	})
}

// benchRematch re-matches 1,000 copies of rep, every one-in-every'th of them with minimist.
func benchRematch(b *testing.B, rep *image.Report, dbA, dbB string, every int) {
	ctx := context.Background()
	s := openStore(b)
	w, err := New(Options{Store: s, DBDir: dbB})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	const n = 1000
	byDigest := map[string][]string{}
	for i := range n {
		digest := fmt.Sprintf("sha256:%064x", i+1)
		r := *rep
		r.Digest = digest
		if i%every != 0 {
			r.Packages = slices.DeleteFunc(slices.Clone(r.Packages), func(p image.Package) bool { return p.Name == "minimist" })
			r.Vulnerabilities = nil
		}
		if err := s.PutImage(ctx, &store.Image{Digest: digest, Refs: []string{webRef}, Report: &r, ScannedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		byDigest[digest] = []string{fmt.Sprintf("web-%04d", i)}
	}
	if _, err := w.SetSnapshot(ctx, snapshot(byDigest)); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Rematch(ctx); err != nil { // the findings of the first database
		b.Fatal(err)
	}
	dirs := []string{dbA, dbB}
	var last *RematchResult
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		w.o.DBDir = dirs[i%2]
		i++
		res, err := w.CheckDB(ctx)
		if err != nil || res == nil {
			b.Fatalf("CheckDB: %+v, %v", res, err)
		}
		if res.Images != n || res.Opened+res.Reopened+res.Resolved < n/every {
			b.Fatalf("re-match %+v: want %d images and at least %d changes", *res, n, n/every)
		}
		last = res
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(i), "ms/rematch")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(i), "cpu-ms/rematch")
	b.Logf("last re-match: %d images, %d changed, %d opened, %d reopened, %d resolved in %s",
		last.Images, last.Changed, last.Opened, last.Reopened, last.Resolved, last.Duration)
}

// cpuTime is the process's CPU time (user and system): steadier than wall time on a shared
// machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
