package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/vuln"
)

var (
	reportOnce sync.Once
	report     *image.Report
	reportErr  error
)

// appReport scans the test application image (built from real Debian, npm, Go and Rust
// packages) and matches it against real vulnerability data, once per test process.
func appReport(t testing.TB) *image.Report {
	t.Helper()
	reportOnce.Do(func() {
		ctx := context.Background()
		app, err := fixture.AppImage(ctx)
		if err != nil {
			reportErr = err
			return
		}
		cache, err := fixture.CacheDir()
		if err != nil {
			reportErr = err
			return
		}
		dbDir, err := fixture.VulnDB(ctx, cache)
		if err != nil {
			reportErr = err
			return
		}
		db, err := vuln.Open(dbDir)
		if err != nil {
			reportErr = err
			return
		}
		defer db.Close()
		tmp, err := os.MkdirTemp("", "storetest-image-")
		if err != nil {
			reportErr = err
			return
		}
		defer os.RemoveAll(tmp)
		rep, err := image.Scan(ctx, &image.Source{Ref: "example.test/app:1.0", Image: app.Image}, image.Options{TempDir: tmp})
		if err != nil {
			reportErr = err
			return
		}
		if err := imagescan.Match(ctx, rep, db, imagescan.MatchOptions{}); err != nil {
			reportErr = err
			return
		}
		if rep.Digest == "" {
			h, err := app.Image.Digest()
			if err != nil {
				reportErr = err
				return
			}
			rep.Digest = h.String()
		}
		report = rep
	})
	fixture.Need(t, reportErr)
	return report
}

// testImages: a real inventory (packages by layer, components, vulnerabilities) round-trips,
// PutImage replaces, and Images streams every stored image once, in digest order.
func testImages(t *testing.T, open Open) {
	s := open(t)
	rep := appReport(t)
	if len(rep.Packages) == 0 || len(rep.Vulnerabilities) == 0 || len(rep.Layers) < 2 {
		t.Fatalf("the test image's report has %d packages, %d vulnerabilities, %d layers", len(rep.Packages), len(rep.Vulnerabilities), len(rep.Layers))
	}
	img := &store.Image{Digest: rep.Digest, Refs: []string{"example.test/app:1.0"}, Report: rep,
		ScannedAt: hour(0), MatchedAt: hour(0), DBVersion: "2026-12-01T00:00:00Z"}
	if err := s.PutImage(ctx(t), img); err != nil {
		t.Fatal(err)
	}
	got, err := s.Image(ctx(t), rep.Digest)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "image", got, img)
	byLayer := map[int]int{}
	for _, p := range got.Report.Packages {
		byLayer[p.Layer]++
	}
	if len(byLayer) < 2 {
		t.Errorf("packages by layer after the round trip: %v", byLayer)
	}

	// Re-matching replaces the vulnerabilities and the matching time.
	img2 := *img
	rep2 := *rep
	rep2.Vulnerabilities = rep.Vulnerabilities[:1]
	img2.Report, img2.MatchedAt, img2.DBVersion, img2.Refs = &rep2, hour(5), "2026-12-02T00:00:00Z", []string{"example.test/app:1.0", "example.test/app@" + rep.Digest}
	if err := s.PutImage(ctx(t), &img2); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Image(ctx(t), rep.Digest)
	if len(got.Report.Vulnerabilities) != 1 || !got.MatchedAt.Equal(hour(5)) || len(got.Refs) != 2 {
		t.Errorf("after PutImage replaced it: %d vulnerabilities, matched %v, refs %v", len(got.Report.Vulnerabilities), got.MatchedAt, got.Refs)
	}

	const n = 40
	for i := range n {
		cp := *img
		cp.Digest = fmt.Sprintf("sha256:%064x", i)
		if err := s.PutImage(ctx(t), &cp); err != nil {
			t.Fatal(err)
		}
	}
	var digests []string
	err = s.Images(ctx(t), func(im *store.Image) error {
		if im.Report == nil || len(im.Report.Packages) != len(rep.Packages) {
			return fmt.Errorf("image %s streamed without its inventory", im.Digest)
		}
		// Writing while streaming must work: re-matching stores findings as it goes.
		if _, err := s.RecordScan(ctx(t), store.Scope("image:"+im.Digest), hour(6), hour(6), nil, ""); err != nil {
			return err
		}
		digests = append(digests, im.Digest)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(digests) != n+1 {
		t.Errorf("Images streamed %d images, want %d", len(digests), n+1)
	}
	for i := 1; i < len(digests); i++ {
		if digests[i] <= digests[i-1] {
			t.Errorf("Images out of order or twice: %s after %s", digests[i], digests[i-1])
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.Images(ctx(t), func(*store.Image) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Images after fn failed: %v after %d calls, want fn's error after 1", err, calls)
	}
}

// testQueue: concurrent claimers never claim one digest twice, and every job is done once.
func testQueue(t *testing.T, open Open) {
	q, ok := open(t).(store.Queue)
	if !ok {
		t.Fatal("the store does not implement store.Queue")
	}
	const jobs, claimers = 60, 6
	for i := range jobs {
		d := fmt.Sprintf("sha256:%064x", i)
		if err := q.Enqueue(ctx(t), d, "example.test/app@"+d, hour(0).Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// Enqueueing a queued digest again is a no-op.
	if err := q.Enqueue(ctx(t), fmt.Sprintf("sha256:%064x", 0), "other", hour(1)); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Pending(ctx(t)); err != nil || n != jobs {
		t.Fatalf("Pending = %d, %v; want %d", n, err, jobs)
	}
	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for c := range claimers {
		owner := fmt.Sprintf("replica-%d", c)
		wg.Go(func() {
			for {
				j, err := q.Claim(context.Background(), owner, hour(2), time.Minute)
				if errors.Is(err, store.ErrQueueEmpty) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if prev, dup := claimed[j.Digest]; dup {
					errs <- fmt.Errorf("%s claimed by %s and %s", j.Digest, prev, owner)
				}
				claimed[j.Digest] = owner
				mu.Unlock()
				if j.Owner != owner || j.Attempts != 1 || !j.LeaseUntil.Equal(hour(2).Add(time.Minute)) {
					errs <- fmt.Errorf("claimed job %+v", j)
				}
				if err := q.Complete(context.Background(), j.Digest, owner); err != nil {
					errs <- err
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
	if len(claimed) != jobs {
		t.Errorf("%d jobs claimed, want %d", len(claimed), jobs)
	}
	if n, _ := q.Pending(ctx(t)); n != 0 {
		t.Errorf("%d jobs left after all were completed", n)
	}
}

// testQueueLease: a claim that expires returns the job to the queue, the old owner can no
// longer complete it, and a released job waits until its retry time.
func testQueueLease(t *testing.T, open Open) {
	q := open(t).(store.Queue)
	const d = "sha256:aaaa"
	if err := q.Enqueue(ctx(t), d, "example.test/a@"+d, hour(0)); err != nil {
		t.Fatal(err)
	}
	j, err := q.Claim(ctx(t), "a", hour(1), time.Minute)
	if err != nil || j.Digest != d || j.Ref != "example.test/a@"+d || !j.Enqueued.Equal(hour(0)) {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if _, err := q.Claim(ctx(t), "b", hour(1).Add(59*time.Second), time.Minute); !errors.Is(err, store.ErrQueueEmpty) {
		t.Fatalf("a claimed job was claimed again within its lease: %v", err)
	}
	j, err = q.Claim(ctx(t), "b", hour(1).Add(61*time.Second), time.Minute)
	if err != nil || j.Owner != "b" || j.Attempts != 2 {
		t.Fatalf("after the lease expired: %+v, %v; want b's claim, attempt 2", j, err)
	}
	if err := q.Complete(ctx(t), d, "a"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("the expired owner completed the job: %v, want ErrLeaseLost", err)
	}
	if err := q.Release(ctx(t), d, "b", hour(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Claim(ctx(t), "c", hour(2), time.Minute); !errors.Is(err, store.ErrQueueEmpty) {
		t.Errorf("a released job was claimable before its retry time: %v", err)
	}
	if j, err := q.Claim(ctx(t), "c", hour(3), time.Minute); err != nil || j.Attempts != 3 {
		t.Errorf("at its retry time: %+v, %v", j, err)
	}
	if err := q.Complete(ctx(t), d, "c"); err != nil {
		t.Error(err)
	}
	if err := q.Complete(ctx(t), d, "c"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("completing twice: %v, want ErrLeaseLost", err)
	}
}
