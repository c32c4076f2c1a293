package imagewatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/vuln"
)

// RematchResult is what one re-match changed.
type RematchResult struct {
	// DBVersion is the database the inventories were matched against.
	DBVersion string
	// Images counts the stored inventories re-matched; Changed those whose vulnerabilities
	// changed.
	Images, Changed int
	// Opened, Reopened and Resolved count the findings the re-match changed.
	Opened, Reopened, Resolved int
	Duration                   time.Duration
}

// Rematch matches every stored inventory against the open database, reading them from the
// store one at a time (Store.Images) and fetching no image: new matches become findings,
// vulnerabilities no longer matched are resolved, through RecordScan of each image's scope.
// An image that fails to match is logged and left as it was; the rest are still matched.
func (w *Watcher) Rematch(ctx context.Context) (*RematchResult, error) {
	w.rematchMu.Lock()
	defer w.rematchMu.Unlock()
	db, version := w.database()
	if db == nil {
		return nil, fmt.Errorf("re-matching images: %w in %s", vuln.ErrNoDatabase, w.o.DBDir)
	}
	start := time.Now()
	res := &RematchResult{DBVersion: version}
	m := newMemo(db)
	var failed []error
	err := w.o.Store.Images(ctx, func(img *store.Image) error {
		if img.Report == nil {
			return nil
		}
		res.Images++
		at := w.o.Now()
		before := slices.Clone(img.Report.Vulnerabilities)
		warnings := img.Report.Warnings
		if err := imagescan.Match(ctx, img.Report, m, w.o.Match); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = append(failed, err)
			w.log.Warn("image not re-matched", "digest", img.Digest, "error", errText(err))
			return nil
		}
		// Matching appends the warnings of versions it cannot order; those of the previous
		// matching are the same ones.
		img.Report.Warnings = dedupe(warnings, img.Report.Warnings[len(warnings):])
		changed := !sameVulns(before, img.Report.Vulnerabilities)
		if changed {
			res.Changed++
		}
		// An image whose matches did not change, recorded for the workloads running it now,
		// is left as it is: neither its inventory (hundreds of kilobytes) nor its findings are
		// written again, so an update that concerns a few images writes a few. Its stored
		// MatchedAt and DBVersion then say when its matches last changed; LastRematch says
		// which database every inventory was last matched against.
		w.mu.Lock()
		current := w.recorded[img.Digest]
		w.mu.Unlock()
		if !changed && current && img.DBVersion != "" {
			return nil
		}
		img.MatchedAt, img.DBVersion = at, version
		if err := w.o.Store.PutImage(ctx, img); err != nil {
			return fmt.Errorf("image %s: storing the re-match: %w", img.Digest, err)
		}
		ch, err := w.record(ctx, img, at, "re-matched against the vulnerability database built "+version)
		if err != nil {
			return err
		}
		if ch != nil {
			res.Opened += len(ch.New)
			res.Reopened += len(ch.Reopened)
			res.Resolved += len(ch.Resolved)
		}
		return nil
	})
	res.Duration = time.Since(start)
	if err == nil {
		w.mu.Lock()
		w.last = res
		w.mu.Unlock()
	}
	if err != nil {
		return res, fmt.Errorf("re-matching stored images: %w", err)
	}
	w.log.Info("images re-matched", "db", version, "images", res.Images, "changed", res.Changed,
		"opened", res.Opened, "reopened", res.Reopened, "resolved", res.Resolved, "duration", res.Duration.String(), "failed", len(failed))
	return res, errors.Join(failed...)
}

// LastRematch is the last complete re-match (nil before the first): the database every stored
// inventory was last matched against, and what it changed. serve can show it in /readyz detail
// and metrics.
func (w *Watcher) LastRematch() *RematchResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		return nil
	}
	r := *w.last
	return &r
}

// CheckDB looks at the database file and, when it was replaced since it was opened (a new
// inode or modification time: `db update` and `db import` replace it by rename), opens the new
// one and re-matches every stored inventory. Call it when signalled (SIGHUP), after an update,
// or from UpdateEvery; it costs one stat when nothing changed. It returns nil, nil then.
func (w *Watcher) CheckDB(ctx context.Context) (*RematchResult, error) {
	changed, err := w.reopen()
	if err != nil || !changed {
		return nil, err
	}
	return w.Rematch(ctx)
}

// UpdateEvery runs update (serve: vuln.Update of the database directory) every interval, and
// CheckDB after each, until ctx ends. A failed update is reported to onErr and tried again at
// the next interval; the database in use stays as it is.
func (w *Watcher) UpdateEvery(ctx context.Context, interval time.Duration, update func(context.Context) error, onErr func(error)) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := update(ctx); err != nil {
			if onErr != nil && ctx.Err() == nil {
				onErr(fmt.Errorf("updating the vulnerability database in %s: %w", w.o.DBDir, err))
			}
			continue
		}
		if _, err := w.CheckDB(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
	}
}

// sameVulns reports whether two matchings found the same vulnerabilities of the same packages.
func sameVulns(a, b []image.Vulnerability) bool {
	return slices.EqualFunc(a, b, func(x, y image.Vulnerability) bool {
		return x.Package == y.Package && x.ID == y.ID && x.Severity == y.Severity && x.Fixed == y.Fixed &&
			x.Summary == y.Summary && slices.Equal(x.Aliases, y.Aliases)
	})
}

func dedupe(old, added []string) []string {
	out := old
	for _, s := range added {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// memo is a Matcher that remembers each package's matches for one re-match: images built on
// one base share most of their packages, so 1,000 inventories ask the database about far fewer
// distinct packages. A package's matches do not depend on the others asked with it.
type memo struct {
	db    imagescan.Matcher
	known map[vuln.Package]memoEntry
}

type memoEntry struct {
	matches []vuln.Match // Index 0
	verr    *vuln.VersionError
}

func newMemo(db imagescan.Matcher) *memo { return &memo{db: db, known: map[vuln.Package]memoEntry{}} }

func (m *memo) Match(ctx context.Context, pkgs []vuln.Package) ([]vuln.Match, error) {
	var ask []vuln.Package
	seen := map[vuln.Package]bool{}
	for _, p := range pkgs {
		if _, ok := m.known[p]; !ok && !seen[p] {
			seen[p] = true
			ask = append(ask, p)
		}
	}
	if len(ask) > 0 {
		got, err := m.db.Match(ctx, ask)
		entries := make([]memoEntry, len(ask))
		if err != nil {
			for _, e := range unjoin(err) {
				var ve *vuln.VersionError
				if !errors.As(e, &ve) {
					return nil, err
				}
				c := *ve
				c.Index = 0
				entries[ve.Index].verr = &c
			}
		}
		for _, mt := range got {
			i := mt.Index
			mt.Index = 0
			entries[i].matches = append(entries[i].matches, mt)
		}
		for i, p := range ask {
			m.known[p] = entries[i]
		}
	}
	var out []vuln.Match
	var verrs []error
	for i, p := range pkgs {
		e := m.known[p]
		for _, mt := range e.matches {
			mt.Index = i
			out = append(out, mt)
		}
		if e.verr != nil {
			c := *e.verr
			c.Index = i
			verrs = append(verrs, &c)
		}
	}
	return out, errors.Join(verrs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
