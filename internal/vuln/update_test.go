package vuln

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve serves a directory over HTTP as a mirror of the osv.dev bucket.
func serve(t *testing.T, dir string) *httptest.Server {
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv
}

func TestUpdateFromHTTPMirror(t *testing.T) {
	published := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	mirror := mirrorDir(t, map[string][]string{"Go": goVulnDBFiles(t), "npm": ghsaFiles(t)})
	if err := os.WriteFile(filepath.Join(mirror, "k8s-releases.json"), []byte(`{"releases":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Go/all.zip", "npm/all.zip"} {
		os.Chtimes(filepath.Join(mirror, p), published, published)
	}
	srv := serve(t, mirror)
	dir := t.TempDir()
	var progress bytes.Buffer
	res, err := Update(context.Background(), dir, UpdateOptions{Mirror: srv.URL, Ecosystems: []string{"Go", "npm", "PyPI"},
		Extras: []string{"k8s-releases.json", "missing.json"}, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	// PyPI is not on this mirror: reported, and the rest installed.
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Error(), "PyPI") || !strings.Contains(res.Failed[0].Error(), "404") {
		t.Errorf("failed: %v", res.Failed)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "missing.json") {
		t.Errorf("warnings: %v", res.Warnings)
	}
	s := res.Status
	if len(s.Sources) != 2 || s.Sources[0].Ecosystem != "Go" || s.Sources[0].Records != 4789 || s.Sources[1].Records != 3 {
		t.Fatalf("sources: %+v", s.Sources)
	}
	if !s.Sources[0].Updated.Equal(published) || !s.Updated.Equal(published) || s.Sources[0].URL != srv.URL+"/Go/all.zip" {
		t.Errorf("Go source: %+v", s.Sources[0])
	}
	if s.Ecosystems["Go"] < 4700 || s.Ecosystems["npm"] != 3 || s.Withdrawn == 0 {
		t.Errorf("counts: %v withdrawn %d", s.Ecosystems, s.Withdrawn)
	}
	if !strings.Contains(progress.String(), "downloading Go/all.zip") || !strings.Contains(progress.String(), "building database") {
		t.Errorf("progress: %q", progress.String())
	}
	if p, err := ExtraFile(dir, "k8s-releases.json"); err != nil || !strings.HasSuffix(p, filepath.Join("extra", "k8s-releases.json")) {
		t.Errorf("ExtraFile: %q %v", p, err)
	}
	if _, err := ExtraFile(dir, "missing.json"); !errors.Is(err, ErrNoExtra) {
		t.Errorf("missing extra: %v", err)
	}

	// A partial update replaces npm only and keeps Go as it was.
	one := mirrorDir(t, map[string][]string{"npm": ghsaFiles(t)[:1]})
	res, err = Update(context.Background(), dir, UpdateOptions{Mirror: serve(t, one).URL, Ecosystems: []string{"npm"}})
	if err != nil || len(res.Failed) > 0 {
		t.Fatal(err, res.Failed)
	}
	if s := res.Status; s.Ecosystems["npm"] != 1 || s.Ecosystems["Go"] < 4700 || len(s.Sources) != 2 || !s.Sources[0].Updated.Equal(published) {
		t.Errorf("after npm-only update: %v %+v", s.Ecosystems, s.Sources)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ms, err := d.Match(context.Background(), []Package{{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.0"}})
	if err != nil || len(ms) < 3 {
		t.Errorf("Go data after the npm update: %d matches, %v", len(ms), err)
	}
	// Nothing left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestUpdateEscapesEcosystemNames(t *testing.T) {
	rh := writeRecords(t, rec("RHSA-2099:0001", `"affected":[{"package":{"ecosystem":"Red Hat:enterprise_linux:9::baseos","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-25.el9_3"}]}]}]`))
	srv := serve(t, mirrorDir(t, map[string][]string{"Red Hat": rh}))
	dir := t.TempDir()
	if _, err := Update(context.Background(), dir, UpdateOptions{Mirror: srv.URL, Ecosystems: []string{"Red Hat"}}); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ms, err := d.Match(context.Background(), []Package{{Ecosystem: "Red Hat:enterprise_linux:9::baseos", Name: "openssl", Version: "1:3.0.7-24.el9"}})
	if err != nil || len(ms) != 1 || ms[0].Fixed != "1:3.0.7-25.el9_3" {
		t.Errorf("RPM match: %+v %v", ms, err)
	}
}

func TestUpdateAllFailedKeepsDatabase(t *testing.T) {
	dir := t.TempDir()
	if _, err := Import(context.Background(), dir, mirrorDir(t, map[string][]string{"npm": ghsaFiles(t)}), UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	srv := serve(t, t.TempDir())
	_, err := Update(context.Background(), dir, UpdateOptions{Mirror: srv.URL, Ecosystems: []string{"npm"}})
	if err == nil || !strings.Contains(err.Error(), "unchanged") {
		t.Errorf("update from an empty mirror: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !bytes.Equal(before, after) {
		t.Error("a failed update changed the database")
	}
}

func TestOpenWithoutDatabase(t *testing.T) {
	_, err := Open(t.TempDir())
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "redoubt db update") || !strings.Contains(err.Error(), "redoubt db import") {
		t.Errorf("Open of an empty directory: %v", err)
	}
}

func TestStale(t *testing.T) {
	s := Status{Dir: "/db", Age: 10 * 24 * time.Hour}
	if w := s.Stale(7 * 24 * time.Hour); !strings.Contains(w, "10 days old") || !strings.Contains(w, "redoubt db update") {
		t.Errorf("Stale: %q", w)
	}
	if w := s.Stale(30 * 24 * time.Hour); w != "" {
		t.Errorf("fresh database warned: %q", w)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("REDOUBT_DB_DIR", "/somewhere/db")
	if DefaultDir() != "/somewhere/db" {
		t.Errorf("DefaultDir with REDOUBT_DB_DIR: %s", DefaultDir())
	}
	t.Setenv("REDOUBT_DB_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if DefaultDir() != "/xdg/redoubt/db" {
		t.Errorf("DefaultDir with XDG_CACHE_HOME: %s", DefaultDir())
	}
}

// zipOf builds a zip in memory.
func zipOf(t testing.TB, files map[string][]byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range files {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	zw.Close()
	return b.Bytes()
}

func TestZipLimits(t *testing.T) {
	lim := Limits{MaxArchiveBytes: 1 << 20, MaxEntries: 10, MaxRecordBytes: 64 << 10, MaxTotalBytes: 256 << 10}
	read := func(b []byte) error {
		return readZip(bytes.NewReader(b), int64(len(b)), lim, func(e *entry) error { _, err := e.data(lim.MaxRecordBytes); return err })
	}
	bomb := zipOf(t, map[string][]byte{"bomb.json": make([]byte, 8<<20)})
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb compresses to %d bytes", len(bomb))
	}
	if err := read(bomb); !errors.Is(err, ErrLimit) {
		t.Errorf("8 MiB record: %v", err)
	}
	many := map[string][]byte{}
	for i := range 11 {
		many[strings.Repeat("x", i+1)+".json"] = []byte("{}")
	}
	if err := read(zipOf(t, many)); !errors.Is(err, ErrLimit) {
		t.Errorf("11 files: %v", err)
	}
	total := map[string][]byte{}
	for i := range 5 {
		total[strings.Repeat("y", i+1)+".json"] = make([]byte, 60<<10)
	}
	if err := read(zipOf(t, total)); !errors.Is(err, ErrLimit) {
		t.Errorf("300 KiB in all: %v", err)
	}
	if err := read([]byte("not a zip")); err == nil {
		t.Error("garbage read as a zip")
	}
	// A header that lies about the size: the data is refused, not trusted.
	lying := zipOf(t, map[string][]byte{"a.json": bytes.Repeat([]byte("a"), 1000)})
	i := bytes.LastIndex(lying, []byte("PK\x01\x02")) // central directory entry
	copy(lying[i+24:i+28], []byte{10, 0, 0, 0})       // uncompressed size 10
	if err := read(lying); err == nil || !strings.Contains(err.Error(), "header says 10") {
		t.Errorf("lying header: %v", err)
	}
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000000")
		w.Write(make([]byte, 2000000))
	}))
	defer big.Close()
	_, err := Update(context.Background(), t.TempDir(), UpdateOptions{Mirror: big.URL, Ecosystems: []string{"npm"}, Limits: lim})
	if err == nil || !strings.Contains(err.Error(), "allowed") {
		t.Errorf("2 MB download over a 1 MiB limit: %v", err)
	}
}

func TestBundleRoundTrip(t *testing.T) {
	src := t.TempDir()
	mirror := mirrorDir(t, map[string][]string{"Go": goVulnDBFiles(t), "npm": ghsaFiles(t)})
	os.WriteFile(filepath.Join(mirror, "k8s-releases.json"), []byte(`{"v":1}`), 0o644)
	if _, err := Update(context.Background(), src, UpdateOptions{Mirror: mirror, Extras: []string{"k8s-releases.json"}}); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "db.tar")
	f, _ := os.Create(bundle)
	if err := Export(context.Background(), src, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dst := t.TempDir()
	res, err := Import(context.Background(), dst, bundle, UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Open(src)
	defer a.Close()
	sa, sb := a.Status(), res.Status
	if sa.Vulnerabilities != sb.Vulnerabilities || len(sa.Ecosystems) != len(sb.Ecosystems) || sa.Ecosystems["Go"] != sb.Ecosystems["Go"] ||
		!sa.Sources[0].Updated.Equal(sb.Sources[0].Updated) || sa.Sources[0].URL != sb.Sources[0].URL {
		t.Errorf("imported status differs:\n%+v\n%+v", sa, sb)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "extra", "k8s-releases.json")); err != nil || string(b) != `{"v":1}` {
		t.Errorf("extra file: %q %v", b, err)
	}
	b, _ := Open(dst)
	defer b.Close()
	pkgs := []Package{{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.0"}, {Ecosystem: "npm", Name: "lodash", Version: "4.17.15"}}
	ma, _ := a.Match(context.Background(), pkgs)
	mb, _ := b.Match(context.Background(), pkgs)
	if len(ma) != len(mb) || len(ma) < 5 {
		t.Errorf("matches differ: %d vs %d", len(ma), len(mb))
	}

	// One flipped byte in a zip: the bundle is refused whole and the database kept.
	raw, _ := os.ReadFile(bundle)
	i := bytes.Index(raw, []byte("GO-2020-0015"))
	raw[i] ^= 1
	damaged := filepath.Join(t.TempDir(), "damaged.tar")
	os.WriteFile(damaged, raw, 0o644)
	if _, err := Import(context.Background(), dst, damaged, UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged bundle: %v", err)
	}
	if _, err := Open(dst); err != nil {
		t.Errorf("database after a refused import: %v", err)
	}

	// Entries outside the layout are refused.
	for _, name := range []string{"../evil.json", "osv/../../x/all.zip", "/etc/passwd", "osv/Go/other.zip"} {
		var tb bytes.Buffer
		tw := tar.NewWriter(&tb)
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
		tw.Write([]byte("{}"))
		tw.Close()
		p := filepath.Join(t.TempDir(), "evil.tar")
		os.WriteFile(p, tb.Bytes(), 0o644)
		if _, err := Import(context.Background(), t.TempDir(), p, UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "layout") {
			t.Errorf("tar entry %q: %v", name, err)
		}
	}
}

// TestOlderFormatIsRefused: a database written by another format version (an older Redoubt)
// is refused with the way out, and an update replaces it.
func TestOlderFormatIsRefused(t *testing.T) {
	dir := t.TempDir()
	mirror := mirrorDir(t, map[string][]string{"npm": ghsaFiles(t)})
	if _, err := Import(context.Background(), dir, mirror, UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", sqliteURI(filepath.Join(dir, FileName), ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE meta SET value='1' WHERE key='schema'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "redoubt db update") {
		t.Fatalf("Open of an old format: %v", err)
	}
	if _, err := Import(context.Background(), dir, mirror, UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Errorf("after the update: %v", err)
	}
}

// TestStalledDownload: a server that stops sending is abandoned after the idle timeout, with a
// message that says so, instead of hanging the update for ever.
func TestStalledDownload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	start := time.Now()
	res, err := Update(context.Background(), t.TempDir(), UpdateOptions{Mirror: srv.URL, Ecosystems: []string{"npm"}, IdleTimeout: 300 * time.Millisecond})
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("stalled download: %v after %v", err, time.Since(start))
	}
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Error(), "nothing received for 300ms") {
		t.Errorf("failure: %v", res.Failed)
	}
}

// TestConditionalUpdate: a second update asks "modified since?" and keeps what has not changed
// without downloading it again; a source that changed is fetched and the rest kept.
func TestConditionalUpdate(t *testing.T) {
	mirror := mirrorDir(t, map[string][]string{"Go": goVulnDBFiles(t), "npm": ghsaFiles(t)})
	past := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for _, p := range []string{"Go/all.zip", "npm/all.zip"} {
		os.Chtimes(filepath.Join(mirror, p), past, past)
	}
	var bodies int
	fs := http.FileServer(http.Dir(mirror))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		fs.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			bodies++
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	defer srv.Close()
	dir := t.TempDir()
	o := UpdateOptions{Mirror: srv.URL, Ecosystems: []string{"Go", "npm"}}
	if _, err := Update(context.Background(), dir, o); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(filepath.Join(dir, FileName))
	bodies = 0
	res, err := Update(context.Background(), dir, o)
	if err != nil || !res.Unchanged || bodies != 0 {
		t.Fatalf("second update: unchanged %v, %d downloads, %v", res.Unchanged, bodies, err)
	}
	after, _ := os.Stat(filepath.Join(dir, FileName))
	if !os.SameFile(before, after) {
		t.Error("an unchanged update replaced the database")
	}
	// npm changes upstream: only it is downloaded; Go is kept from the previous database.
	writeExport(t, filepath.Join(mirror, "npm", "all.zip"), ghsaFiles(t)[:2])
	bodies = 0
	res, err = Update(context.Background(), dir, o)
	if err != nil || res.Unchanged || bodies != 1 {
		t.Fatalf("third update: unchanged %v, %d downloads, %v", res.Unchanged, bodies, err)
	}
	if s := res.Status; s.Ecosystems["npm"] != 2 || s.Ecosystems["Go"] < 4700 || !s.Sources[0].Updated.Equal(past.UTC()) {
		t.Errorf("after a partial change: %v %+v", s.Ecosystems, s.Sources[0])
	}
}

// TestDownloadChecksum: a download whose MD5 differs from the bucket's X-Goog-Hash is refused.
func TestDownloadChecksum(t *testing.T) {
	body := zipOf(t, map[string][]byte{"a.json": []byte(rec("X-1", `"affected":[]`))})
	sum := md5.Sum(body)
	for _, tc := range []struct {
		hash string
		ok   bool
	}{
		{"crc32c=AAAAAA==, md5=" + base64.StdEncoding.EncodeToString(sum[:]), true},
		{"crc32c=AAAAAA==, md5=" + base64.StdEncoding.EncodeToString(make([]byte, 16)), false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Goog-Hash", tc.hash)
			w.Write(body)
		}))
		res, err := Update(context.Background(), t.TempDir(), UpdateOptions{Mirror: srv.URL, Ecosystems: []string{"npm"}})
		srv.Close()
		if tc.ok && err != nil {
			t.Errorf("matching MD5: %v", err)
		}
		if !tc.ok && (err == nil || len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Error(), "damaged in transit")) {
			t.Errorf("wrong MD5: %v %v", err, res)
		}
	}
}
