// Package imagewatch keeps the images a cluster runs scanned and matched for `redoubt serve`:
// each running digest is scanned once (claimed from the store's queue, so replicas split the
// work), its inventory stored, and its findings recorded as a scope of their own
// ("image:<digest>") on every workload container that runs it. When the vulnerability database
// changes, every stored inventory is re-matched from the store, without pulling any image again:
// new vulnerabilities open findings, vanished ones resolve.
package imagewatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/vuln"
)

// Store is what the watcher needs of the store: findings and inventories, and the scan queue.
// Both engines' *sqlstore.DB are one.
type Store interface {
	store.Store
	store.Queue
}

// Scope is the store scope of one image digest's findings.
func Scope(digest string) store.Scope { return store.Scope("image:" + digest) }

// Options configure a Watcher.
type Options struct {
	Store Store
	// DBDir is the vulnerability database directory (vuln.DefaultDir() in serve).
	DBDir string
	// Fetcher opens images to scan; nil means none can be scanned (every job fails).
	Fetcher Fetcher
	// Owner names this replica in queue claims (pod name); default hostname+pid.
	Owner string
	// Lease is how long a claim holds a job (default 10m); RetryAfter how long a failed scan
	// waits before it is tried again (default 5m, doubled per attempt, at most 6h).
	Lease      time.Duration
	RetryAfter time.Duration
	Scan       image.Options
	Match      imagescan.MatchOptions
	Log        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// use is one image reference of a digest and the containers that run it under that reference.
type use struct {
	ref  string
	uses []inventory.ImageUse
}

// Watcher scans running images and re-matches stored ones. Its methods are safe for concurrent
// use.
type Watcher struct {
	o   Options
	log *slog.Logger

	mu sync.Mutex
	// db is the open vulnerability database (nil when there is none yet) and dbID the file
	// identity it was opened from.
	db   *vuln.DB
	dbID fileID
	// snap is the current snapshot's uses by digest (nil before the first SetSnapshot); cluster
	// the snapshot's cluster name.
	snap    map[string][]use
	cluster string
	// recorded holds the digests whose findings were recorded for their uses in the current
	// snapshot: a re-match that changes none of their vulnerabilities need not record them again.
	recorded map[string]bool
	// last is the last complete re-match.
	last *RematchResult

	// wake is signalled (never blocking) when work was enqueued.
	wake chan struct{}
	// rematchMu keeps two re-matches from running at once.
	rematchMu sync.Mutex
}

// New opens the vulnerability database in o.DBDir (a missing one is not an error: images are
// then stored unmatched until one appears and CheckDB notices it).
func New(o Options) (*Watcher, error) {
	if o.Store == nil {
		return nil, errors.New("imagewatch: no store")
	}
	if o.Owner == "" {
		h, _ := os.Hostname()
		o.Owner = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	w := &Watcher{o: o, log: o.Log, wake: make(chan struct{}, 1), recorded: map[string]bool{}}
	if _, err := w.reopen(); err != nil && !errors.Is(err, vuln.ErrNoDatabase) {
		return nil, err
	}
	return w, nil
}

// Close releases the vulnerability database.
func (w *Watcher) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.db != nil {
		err := w.db.Close()
		w.db = nil
		return err
	}
	return nil
}

// fileID identifies one version of the database file: updates replace it by rename, so a new
// file has a new inode (and modification time).
type fileID struct {
	dev, ino uint64
	mtime    time.Time
	size     int64
}

func statDB(dir string) (fileID, error) {
	fi, err := os.Stat(filepath.Join(dir, vuln.FileName))
	if err != nil {
		return fileID{}, err
	}
	id := fileID{mtime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), uint64(st.Ino)
	}
	return id, nil
}

// reopen opens the database when its file is not the one open; it reports whether it did.
func (w *Watcher) reopen() (bool, error) {
	id, err := statDB(w.o.DBDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("%w in %s", vuln.ErrNoDatabase, w.o.DBDir)
		}
		return false, fmt.Errorf("vulnerability database in %s: %w", w.o.DBDir, err)
	}
	w.mu.Lock()
	same := w.db != nil && id == w.dbID
	w.mu.Unlock()
	if same {
		return false, nil
	}
	db, err := vuln.Open(w.o.DBDir)
	if err != nil {
		return false, err
	}
	w.mu.Lock()
	old := w.db
	w.db, w.dbID = db, id
	w.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return true, nil
}

// database returns the open database and its version, or nil.
func (w *Watcher) database() (*vuln.DB, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.db == nil {
		return nil, ""
	}
	return w.db, dbVersion(w.db.Status())
}

// dbVersion names a database build: when it was built and how fresh its data is.
func dbVersion(s vuln.Status) string {
	return s.Built.UTC().Format(time.RFC3339Nano) + " (data " + s.Updated.UTC().Format(time.RFC3339) + ")"
}

// SetSnapshot tells the watcher what the cluster runs now. Digests not yet stored are enqueued
// for scanning (references without a digest are not: a tag names no one image); digests stored
// whose workloads changed, appeared or disappeared, or that another replica scanned, have their
// findings recorded from the stored inventory. It returns how many digests it enqueued. In
// serve, the replica that leads the audit calls it; every replica may Run the queue.
func (w *Watcher) SetSnapshot(ctx context.Context, s *inventory.Snapshot) (int, error) {
	now := w.o.Now()
	by := map[string][]use{}
	for _, img := range s.Images {
		if img.Digest == "" || len(img.Uses) == 0 {
			continue
		}
		by[img.Digest] = append(by[img.Digest], use{ref: img.Ref, uses: img.Uses})
	}
	w.mu.Lock()
	prev := w.snap
	w.snap, w.cluster = by, s.Source.Cluster
	for digest := range w.recorded {
		if old, ok := prev[digest]; !ok || !sameUses(old, by[digest]) {
			delete(w.recorded, digest)
		}
	}
	w.mu.Unlock()

	w.mu.Lock()
	recorded := maps.Clone(w.recorded)
	w.mu.Unlock()
	var errs []error
	enqueued := 0
	for digest, us := range by {
		// Recorded for these workloads already. A digest not recorded yet is looked up again
		// at each snapshot: another replica may have scanned it since (it records nothing,
		// having no snapshot), or it is still queued.
		if recorded[digest] {
			continue
		}
		stored, err := w.o.Store.Image(ctx, digest)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := w.o.Store.Enqueue(ctx, digest, us[0].ref, now); err != nil {
				errs = append(errs, fmt.Errorf("enqueueing image %s (%s): %w", us[0].ref, digest, err))
				continue
			}
			enqueued++
		case err != nil:
			errs = append(errs, fmt.Errorf("reading stored image %s (%s): %w", us[0].ref, digest, err))
		default:
			if _, err := w.record(ctx, stored, now, "workloads changed"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Images no longer run by anything: their findings resolve (the inventory stays stored, so
	// a rollback does not scan again).
	for digest := range prev {
		if _, ok := by[digest]; ok {
			continue
		}
		if _, err := w.o.Store.RecordScan(ctx, Scope(digest), now, now, nil, "image no longer running"); err != nil {
			errs = append(errs, fmt.Errorf("image %s: recording findings: %w", digest, err))
		}
	}
	if enqueued > 0 {
		w.Wake()
	}
	return enqueued, errors.Join(errs...)
}

func sameUses(a, b []use) bool {
	return slices.EqualFunc(a, b, func(x, y use) bool {
		return x.ref == y.ref && slices.EqualFunc(x.uses, y.uses, func(p, q inventory.ImageUse) bool {
			return p.Container == q.Container && p.Init == q.Init && p.Workload.Key() == q.Workload.Key() &&
				p.Workload.Origin == q.Workload.Origin && p.Workload.ContainerLine(p.Container) == q.Workload.ContainerLine(q.Container)
		})
	})
}

// Findings are a stored image's findings on every workload container of the current snapshot
// that runs it: the findings `redoubt scan --images` gives for those containers (the same
// imagescan.Findings construction).
func (w *Watcher) findings(img *store.Image) []finding.Finding {
	w.mu.Lock()
	us, cluster := w.snap[img.Digest], w.cluster
	w.mu.Unlock()
	var out []finding.Finding
	for _, u := range us {
		for _, iu := range u.uses {
			wl := iu.Workload
			res := finding.Resource{Cluster: cluster, Namespace: wl.Namespace, Kind: wl.Kind, Name: wl.Name, Container: iu.Container}
			loc := finding.Location{File: wl.Origin.File, Line: wl.ContainerLine(iu.Container), UID: wl.Origin.UID, Image: u.ref, Digest: img.Digest}
			out = append(out, imagescan.Findings(img.Report, res, loc)...)
		}
	}
	return out
}

// record stores the findings of one image as its scope's audit. Before the first snapshot it
// records nothing (which workloads run the image is not known yet).
func (w *Watcher) record(ctx context.Context, img *store.Image, at time.Time, note string) (*store.Change, error) {
	w.mu.Lock()
	known := w.snap != nil
	w.mu.Unlock()
	if !known {
		return nil, nil
	}
	ch, err := w.o.Store.RecordScan(ctx, Scope(img.Digest), at, w.o.Now(), w.findings(img), note)
	if err != nil {
		return nil, fmt.Errorf("image %s: recording findings: %w", img.Digest, err)
	}
	w.mu.Lock()
	w.recorded[img.Digest] = true
	w.mu.Unlock()
	return ch, nil
}

// Wake tells a running Run loop that jobs were enqueued (by this replica or, in serve, another).
func (w *Watcher) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// errText trims an error for a log line.
func errText(err error) string { return strings.TrimSpace(err.Error()) }
