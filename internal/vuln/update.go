package vuln

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMirror is the public osv.dev bucket: each ecosystem's export is
// <DefaultMirror>/<Ecosystem>/all.zip.
const DefaultMirror = "https://osv-vulnerabilities.storage.googleapis.com"

// DefaultEcosystems are the exports `redoubt db update` fetches: the ecosystems Redoubt's
// package inventory reports (OS packages of Debian, Ubuntu, Alpine, Wolfi, Chainguard and the
// RPM distributions, and Go, npm, PyPI, Maven, crates.io, RubyGems, NuGet and Packagist
// libraries).
func DefaultEcosystems() []string {
	return []string{"AlmaLinux", "Alpine", "Chainguard", "crates.io", "Debian", "Go", "Maven", "npm",
		"NuGet", "Packagist", "PyPI", "Red Hat", "Rocky Linux", "RubyGems", "SUSE", "Ubuntu", "Wolfi"}
}

var (
	extrasMu sync.Mutex
	extras   []string
)

// RegisterExtra asks every update to also fetch the named file from the mirror's base and keep
// it beside the database (see ExtraFile). A mirror without it is not an error: the update
// warns. Call it at init.
func RegisterExtra(name string) {
	if !validExtraName(name) {
		panic(fmt.Sprintf("vuln: extra file name %q must be a plain file name", name))
	}
	extrasMu.Lock()
	defer extrasMu.Unlock()
	if !slices.Contains(extras, name) {
		extras = append(extras, name)
	}
}

func validExtraName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && len(name) <= 255
}

// ErrNoExtra is returned by ExtraFile when the file was never fetched.
var ErrNoExtra = errors.New("extra file not in the database directory")

// ExtraFile returns the path of an extra file fetched by the last update, import or `db
// update --extra`, or an error wrapping ErrNoExtra that says how to get it.
func ExtraFile(dir, name string) (string, error) {
	if !validExtraName(name) {
		return "", fmt.Errorf("extra file %q: not a plain file name", name)
	}
	p := filepath.Join(dir, extraDir, name)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: %w %s: run `redoubt db update` against a mirror that serves it, or import a bundle that carries it", name, ErrNoExtra, dir)
		}
		return "", err
	}
	return p, nil
}

// UpdateOptions control an update or import.
type UpdateOptions struct {
	// Mirror is a base URL (<Mirror>/<Ecosystem>/all.zip) or a directory laid out the same
	// way; "" means DefaultMirror.
	Mirror string
	// Ecosystems to fetch; nil means DefaultEcosystems for a URL, or every <Ecosystem>/all.zip
	// present for a directory. Ecosystems already in the database and not fetched are kept.
	Ecosystems []string
	// Extras are fetched from the mirror base too, beside the registered ones.
	Extras []string
	// Client fetches from URLs; nil means http.DefaultClient.
	Client *http.Client
	// Progress, when set, receives progress lines (for a person at a terminal).
	Progress io.Writer
	// Limits on what is accepted; zero means DefaultLimits.
	Limits Limits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// IdleTimeout aborts a download that receives nothing for this long; zero means two
	// minutes. (A whole download may take long; a silent one is stuck.)
	IdleTimeout time.Duration
}

func (o *UpdateOptions) defaults() {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 2 * time.Minute
	}
}

// UpdateResult says what an update did.
type UpdateResult struct {
	Status Status
	// Failed are the sources that could not be fetched or read; the data they had before, if
	// any, was kept.
	Failed []error
	// Problems name records that could not be read and were skipped (the first few).
	Problems []string
	// Warnings are things that did not stop the update, such as a missing extra file.
	Warnings []string
	// Unchanged is set when every source answered "not modified" and the database was kept.
	Unchanged bool
}

// Err is the sources' failures joined, or nil.
func (r *UpdateResult) Err() error { return errors.Join(r.Failed...) }

// fetched is one export ready to be imported.
type fetched struct {
	src  Source
	path string
	// keep says the source is unchanged since the previous database (HTTP 304): its records
	// are copied from there, with src's metadata.
	keep bool
}

// Update fetches the exports from the mirror (or osv.dev) and installs a new database in dir.
// A source that fails keeps its previous data and is reported in the result; the error is
// for failures that leave the database unchanged.
func Update(ctx context.Context, dir string, o UpdateOptions) (*UpdateResult, error) {
	o.defaults()
	base := o.Mirror
	if base == "" {
		base = DefaultMirror
	}
	if !isURL(base) {
		return installFrom(ctx, dir, o, func(tmp string, _ *DB, res *UpdateResult) ([]fetched, error) {
			return fromLocal(base, tmp, o, res)
		})
	}
	ecos := o.Ecosystems
	if len(ecos) == 0 {
		ecos = DefaultEcosystems()
	}
	return installFrom(ctx, dir, o, func(tmp string, old *DB, res *UpdateResult) ([]fetched, error) {
		var out []fetched
		for i, eco := range ecos {
			u := strings.TrimSuffix(base, "/") + "/" + url.PathEscape(eco) + "/all.zip"
			dst := filepath.Join(tmp, fmt.Sprintf("%d.zip", i))
			var prev *Source
			if old != nil {
				for j, s := range old.status.Sources {
					if s.Ecosystem == eco && s.URL == u {
						prev = &old.status.Sources[j]
					}
				}
			}
			src, notModified, err := download(ctx, o, u, dst, eco+"/all.zip", prev)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				res.Failed = append(res.Failed, fmt.Errorf("%s: %w", eco, err))
				continue
			}
			src.Ecosystem = eco
			out = append(out, fetched{src: src, path: dst, keep: notModified})
		}
		for _, name := range allExtras(o.Extras) {
			u := strings.TrimSuffix(base, "/") + "/" + url.PathEscape(name)
			dst := filepath.Join(tmp, "extra", name)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return nil, err
			}
			if _, _, err := download(ctx, o, u, dst, name, nil); err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("extra file %s: %v", name, err))
			}
		}
		return out, nil
	})
}

func allExtras(more []string) []string {
	extrasMu.Lock()
	defer extrasMu.Unlock()
	out := slices.Clone(extras)
	for _, e := range more {
		if validExtraName(e) && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// errHTTP is an unexpected HTTP status.
type errHTTP struct {
	url    string
	status string
}

func (e *errHTTP) Error() string { return fmt.Sprintf("GET %s: %s", e.url, e.status) }

// download fetches u into dst within the archive limit, hashing it on the way. With prev (what
// the previous database fetched from u) the request is conditional; notModified reports a 304,
// and then src is prev with a new fetch time. A Google Cloud Storage MD5 (X-Goog-Hash) is
// checked when the server sends one.
func download(ctx context.Context, o UpdateOptions, u, dst, label string, prev *Source) (src Source, notModified bool, err error) {
	src = Source{URL: u, Fetched: o.Now().UTC()}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := fmt.Errorf("GET %s: nothing received for %s", u, o.IdleTimeout)
	idle := time.AfterFunc(o.IdleTimeout, func() { cancel(stalled) })
	defer idle.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return src, false, err
	}
	if prev != nil {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if !prev.Updated.IsZero() {
			req.Header.Set("If-Modified-Since", prev.Updated.UTC().Format(http.TimeFormat))
		}
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		if context.Cause(ctx) == stalled {
			return src, false, stalled
		}
		return src, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && prev != nil {
		kept := *prev
		kept.Fetched = src.Fetched
		fmt.Fprintf(o.Progress, "%s: not modified since %s\n", label, prev.Updated.UTC().Format(time.RFC3339))
		return kept, true, nil
	}
	if resp.StatusCode != http.StatusOK {
		return src, false, &errHTTP{url: u, status: resp.Status}
	}
	if resp.ContentLength > o.Limits.MaxArchiveBytes {
		return src, false, fmt.Errorf("GET %s: %d bytes is more than the %d allowed: %w", u, resp.ContentLength, o.Limits.MaxArchiveBytes, ErrLimit)
	}
	src.Updated = src.Fetched
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		src.Updated = lm.UTC()
	}
	src.ETag = resp.Header.Get("ETag")
	f, err := os.Create(dst)
	if err != nil {
		return src, false, err
	}
	defer f.Close()
	h, m := sha256.New(), md5.New()
	pw := newProgress(o.Progress, label, resp.ContentLength)
	body := &idleReader{r: resp.Body, timer: idle, d: o.IdleTimeout}
	n, err := io.Copy(io.MultiWriter(f, h, m, pw), io.LimitReader(body, o.Limits.MaxArchiveBytes+1))
	pw.done()
	if err != nil {
		if context.Cause(ctx) == stalled {
			return src, false, stalled
		}
		return src, false, fmt.Errorf("GET %s: %w", u, err)
	}
	if n > o.Limits.MaxArchiveBytes {
		return src, false, fmt.Errorf("GET %s: more than the %d bytes allowed: %w", u, o.Limits.MaxArchiveBytes, ErrLimit)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return src, false, fmt.Errorf("GET %s: got %d of %d bytes", u, n, resp.ContentLength)
	}
	if want := googMD5(resp.Header.Values("X-Goog-Hash")); want != "" && want != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		return src, false, fmt.Errorf("GET %s: MD5 of the download does not match the server's X-Goog-Hash: damaged in transit", u)
	}
	if err := f.Close(); err != nil {
		return src, false, err
	}
	src.SHA256, src.Size = hex.EncodeToString(h.Sum(nil)), n
	return src, false, nil
}

// googMD5 reads the md5 of "X-Goog-Hash: crc32c=..., md5=...".
func googMD5(values []string) string {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if m, ok := strings.CutPrefix(strings.TrimSpace(part), "md5="); ok {
				return m
			}
		}
	}
	return ""
}

// idleReader restarts the idle timer whenever data arrives.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.d)
	}
	return n, err
}

// fromDir lists a directory laid out as a mirror (<Ecosystem>/all.zip, extra files beside) or
// as an unpacked bundle.
func fromDir(dir string, o UpdateOptions, res *UpdateResult) ([]fetched, error) {
	if _, err := os.Stat(filepath.Join(dir, manifestName)); err == nil {
		return fromBundleDir(dir, o)
	}
	ecos := o.Ecosystems
	if len(ecos) == 0 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("mirror %s: %w", dir, err)
		}
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "all.zip")); err == nil {
				ecos = append(ecos, e.Name())
			}
		}
		if len(ecos) == 0 {
			return nil, fmt.Errorf("mirror %s: no <Ecosystem>/all.zip inside (lay it out as the osv.dev bucket: Go/all.zip, Debian/all.zip, ...)", dir)
		}
	}
	var out []fetched
	for _, eco := range ecos {
		p := filepath.Join(dir, eco, "all.zip")
		src, err := hashFile(p, o)
		if err != nil {
			res.Failed = append(res.Failed, fmt.Errorf("%s: %w", eco, err))
			continue
		}
		src.Ecosystem = eco
		out = append(out, fetched{src: src, path: p})
	}
	return out, nil
}

// hashFile describes a local export file.
func hashFile(p string, o UpdateOptions) (Source, error) {
	src := Source{URL: p, Fetched: o.Now().UTC()}
	f, err := os.Open(p)
	if err != nil {
		return src, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return src, err
	}
	if st.Size() > o.Limits.MaxArchiveBytes {
		return src, fmt.Errorf("%s: %d bytes is more than the %d allowed: %w", p, st.Size(), o.Limits.MaxArchiveBytes, ErrLimit)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return src, fmt.Errorf("%s: %w", p, err)
	}
	src.SHA256, src.Size, src.Updated = hex.EncodeToString(h.Sum(nil)), st.Size(), st.ModTime().UTC()
	return src, nil
}

// installFrom runs one update: under the directory's lock, gather the exports, build a new
// database beside the old one from them (and from the old one's data for sources not
// gathered), and rename it into place.
func installFrom(ctx context.Context, dir string, o UpdateOptions, gather func(tmp string, old *DB, res *UpdateResult) ([]fetched, error)) (*UpdateResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("database directory %s: %w", dir, err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removeStale(dir)
	tmp, err := os.MkdirTemp(dir, ".tmp-update-")
	if err != nil {
		return nil, fmt.Errorf("database directory %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	res := &UpdateResult{}
	var old *DB
	if d, err := Open(dir); err == nil {
		old = d
		defer old.Close()
	}
	srcs, err := gather(tmp, old, res)
	if err != nil {
		return nil, err
	}
	if old != nil && len(res.Failed) == 0 && !slices.ContainsFunc(srcs, func(f fetched) bool { return !f.keep }) {
		// Every source answered "not modified": the database is current.
		res.Unchanged = true
		res.Status = old.Status()
		if err := installExtras(dir, filepath.Join(tmp, "extra")); err != nil {
			res.Warnings = append(res.Warnings, err.Error())
		}
		return res, nil
	}
	if len(srcs) == 0 && (old == nil || len(res.Failed) == 0) {
		if len(res.Failed) > 0 {
			return res, fmt.Errorf("no vulnerability data could be fetched: %w", res.Err())
		}
		return res, errors.New("no vulnerability data to import")
	}
	if len(srcs) == 0 {
		return res, fmt.Errorf("no vulnerability data could be fetched; the database is unchanged: %w", res.Err())
	}
	fmt.Fprintf(o.Progress, "building database...\n")
	newPath := filepath.Join(tmp, FileName)
	b, err := newBuilder(ctx, newPath)
	if err != nil {
		return nil, fmt.Errorf("new database %s: %w", newPath, err)
	}
	have := map[string]bool{}
	for _, f := range srcs {
		if f.keep {
			if err := copySource(ctx, b, old, f.src, o); err != nil {
				b.abort()
				return nil, fmt.Errorf("keeping %s from the previous database: %w", f.src.Ecosystem, err)
			}
			have[f.src.Ecosystem] = true
			continue
		}
		if err := importZip(ctx, b, f, o); err != nil {
			b.abort()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		have[f.src.Ecosystem] = true
	}
	if old != nil {
		for _, s := range old.status.Sources {
			if have[s.Ecosystem] {
				continue
			}
			if err := copySource(ctx, b, old, s, o); err != nil {
				b.abort()
				return nil, fmt.Errorf("keeping %s from the previous database: %w", s.Ecosystem, err)
			}
		}
	}
	res.Problems = b.problems
	if err := b.finish(ctx, o.Now()); err != nil {
		return nil, fmt.Errorf("new database %s: %w", newPath, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The one step that changes what readers see: an atomic rename.
	if err := os.Rename(newPath, filepath.Join(dir, FileName)); err != nil {
		return nil, fmt.Errorf("installing %s: %w", filepath.Join(dir, FileName), err)
	}
	syncDir(dir)
	if err := installExtras(dir, filepath.Join(tmp, "extra")); err != nil {
		res.Warnings = append(res.Warnings, err.Error())
	}
	d, err := Open(dir)
	if err != nil {
		return nil, err
	}
	res.Status = d.Status()
	d.Close()
	return res, nil
}

// importZip imports one export file.
func importZip(ctx context.Context, b *builder, f fetched, o UpdateOptions) error {
	zf, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("%s: %w", f.src.Ecosystem, err)
	}
	defer zf.Close()
	st, err := zf.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Progress, "importing %s (%s)...\n", f.src.Ecosystem, humanBytes(st.Size()))
	src := f.src
	err = readZip(zf, st.Size(), o.Limits, func(e *entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := b.add(ctx, src.Ecosystem, e, o.Limits)
		if ok {
			src.Records++
		} else if err == nil {
			src.Skipped++
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s export %s: %w", src.Ecosystem, f.src.URL, err)
	}
	return b.addSource(ctx, src)
}

// copySource re-imports one source's records from the previous database.
func copySource(ctx context.Context, b *builder, old *DB, s Source, o UpdateOptions) error {
	rows, err := old.db.QueryContext(ctx, `SELECT name, method, crc32, size, modified, raw FROM entries WHERE source=? ORDER BY rowid`, s.Ecosystem)
	if err != nil {
		return err
	}
	defer rows.Close()
	// Streamed: the old database is another connection, and a large source's records need
	// not fit in memory.
	for rows.Next() {
		e := &entry{}
		var method, crc, size, mod int64
		if err := rows.Scan(&e.Name, &method, &crc, &size, &mod, &e.Raw); err != nil {
			return err
		}
		e.Method, e.CRC32, e.Size, e.Modified = uint16(method), uint32(crc), uint64(size), time.Unix(mod, 0).UTC()
		if _, err := b.add(ctx, s.Ecosystem, e, o.Limits); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return b.addSource(ctx, s)
}

// installExtras moves fetched extra files into place, each by rename.
func installExtras(dir, from string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, extraDir), 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(dir, extraDir, e.Name())); err != nil {
			return fmt.Errorf("extra file %s: %w", e.Name(), err)
		}
	}
	syncDir(filepath.Join(dir, extraDir))
	return nil
}

// removeStale deletes what an update killed mid-way left behind. It runs under the lock, so no
// update is using them.
func removeStale(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progress writes "label: 12.3 MiB of 40.0 MiB (31%)" at most five times a second.
type progress struct {
	w     io.Writer
	label string
	total int64
	n     int64
	last  time.Time
}

func newProgress(w io.Writer, label string, total int64) *progress {
	return &progress{w: w, label: label, total: total}
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.w != io.Discard && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.print("\r")
	}
	return len(b), nil
}

func (p *progress) print(prefix string) {
	if p.total > 0 {
		fmt.Fprintf(p.w, "%sdownloading %s: %s of %s (%d%%)", prefix, p.label, humanBytes(p.n), humanBytes(p.total), p.n*100/p.total)
	} else {
		fmt.Fprintf(p.w, "%sdownloading %s: %s", prefix, p.label, humanBytes(p.n))
	}
}

func (p *progress) done() {
	if p.w == io.Discard {
		return
	}
	p.print("\r")
	fmt.Fprintln(p.w)
}
