package imagewatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/store"
)

// Fetcher opens the image a workload runs, by the reference it runs it under and the digest
// it runs. It is the only place images are read from: re-matching never calls it.
type Fetcher interface {
	Fetch(ctx context.Context, ref, digest string) (*image.Source, error)
}

// Sources fetch images from an OCI layout and, when Pull is set (opt-in), from their
// registries with Source's credentials (imagescan.PullSecretKeychain for pull secrets).
type Sources struct {
	Layout *image.Layout
	Pull   bool
	Source image.SourceOptions
}

// Fetch implements Fetcher. The image found must be the digest the workload runs.
func (s Sources) Fetch(ctx context.Context, ref, digest string) (*image.Source, error) {
	var src *image.Source
	if s.Layout != nil {
		p := s.Source.Platform
		if p == "" {
			p = image.DefaultPlatform
		}
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", p, err)
		}
		src, err = s.Layout.Find(ref, plat)
		if err != nil && !errors.Is(err, image.ErrNotInLayout) {
			return nil, err
		}
		if src != nil && src.Digest != digest && src.IndexDigest != digest {
			src.Close()
			src = nil
		}
	}
	if src == nil {
		if !s.Pull {
			return nil, imagescan.ErrNoSource
		}
		pinned := ref
		if !strings.Contains(ref, "@") {
			pinned = ref + "@" + digest
		}
		var err error
		if src, err = image.Open(ctx, pinned, s.Source); err != nil {
			return nil, err
		}
	}
	src.Ref = ref
	return src, nil
}

// Work claims jobs from the queue and scans them until none is ready, and returns how many it
// completed. A scan that fails is given back to the queue to be tried again later (after
// RetryAfter, doubled per attempt); the error is logged with the image.
func (w *Watcher) Work(ctx context.Context) (int, error) {
	done := 0
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		job, err := w.o.Store.Claim(ctx, w.o.Owner, w.o.Now(), w.o.Lease)
		if errors.Is(err, store.ErrQueueEmpty) {
			return done, nil
		}
		if err != nil {
			return done, fmt.Errorf("claiming an image to scan: %w", err)
		}
		if err := w.scanJob(ctx, job); err != nil {
			retry := w.retryAt(job.Attempts)
			w.log.Warn("image not scanned", "image", job.Ref, "digest", job.Digest, "attempt", job.Attempts, "retryAt", retry, "error", errText(err))
			if rerr := w.o.Store.Release(ctx, job.Digest, w.o.Owner, retry); rerr != nil && !errors.Is(rerr, store.ErrLeaseLost) {
				return done, fmt.Errorf("image %s: giving the job back: %w", job.Ref, rerr)
			}
			continue
		}
		if err := w.o.Store.Complete(ctx, job.Digest, w.o.Owner); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			return done, fmt.Errorf("image %s: completing the job: %w", job.Ref, err)
		}
		done++
	}
}

func (w *Watcher) retryAt(attempts int) time.Time {
	d := w.o.RetryAfter
	for i := 1; i < attempts && d < 6*time.Hour; i++ {
		d *= 2
	}
	return w.o.Now().Add(min(d, 6*time.Hour))
}

// scanJob scans one image, matches it, stores its inventory and records its findings.
func (w *Watcher) scanJob(ctx context.Context, job *store.Job) error {
	if w.o.Fetcher == nil {
		return imagescan.ErrNoSource
	}
	started := w.o.Now()
	src, err := w.o.Fetcher.Fetch(ctx, job.Ref, job.Digest)
	if err != nil {
		return err
	}
	defer src.Close()
	rep, err := image.Scan(ctx, src, w.o.Scan)
	if err != nil {
		return err
	}
	img := &store.Image{Digest: job.Digest, Refs: []string{job.Ref}, Report: rep, ScannedAt: started}
	if db, version := w.database(); db != nil {
		if err := imagescan.Match(ctx, rep, db, w.o.Match); err != nil {
			return err
		}
		img.MatchedAt, img.DBVersion = w.o.Now(), version
	}
	if err := w.o.Store.PutImage(ctx, img); err != nil {
		return fmt.Errorf("image %s: storing the inventory: %w", job.Ref, err)
	}
	_, err = w.record(ctx, img, started, "scanned")
	w.log.Info("image scanned", "image", job.Ref, "digest", job.Digest, "packages", len(rep.Packages), "vulnerabilities", len(rep.Vulnerabilities))
	return err
}

// Run works the queue whenever Wake is called, and when the earliest failed job is due again;
// it spends nothing while idle. It returns when ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	for {
		if _, err := w.Work(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("image scan queue", "error", errText(err))
		}
		// A failed job is retried no sooner than RetryAfter; waking then (or on Wake) is enough.
		t := time.NewTimer(w.o.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}
