package imagewatch

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/store"
)

// TestRunAndUpdateEvery: a running watcher scans an image as soon as a snapshot enqueues it
// (woken, not polling), and the update loop's new database opens the finding of the advisory
// it adds, without fetching the image again.
func TestRunAndUpdateEvery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
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
	// RetryAfter is long: only Wake can start the scan within the test.
	w, err := New(Options{Store: s, DBDir: dbDir, Fetcher: fetch, RetryAfter: time.Hour, Scan: image.Options{TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	time.Sleep(50 * time.Millisecond) // Run's first pass finds the queue empty and waits
	if _, err := w.SetSnapshot(ctx, snapshot(map[string][]string{digest: {"web"}})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the image to be scanned", func() bool { _, err := s.Image(ctx, digest); return err == nil })

	var updates atomic.Int64
	var errs []error
	updCtx, stopUpdates := context.WithCancel(ctx)
	updDone := make(chan struct{})
	go func() {
		defer close(updDone)
		w.UpdateEvery(updCtx, 20*time.Millisecond, func(context.Context) error {
			if updates.Add(1) == 1 {
				importDB(t, dbDir, with)
			}
			return nil
		}, func(err error) { errs = append(errs, err) })
	}()
	waitFor(t, ctx, "the new advisory's finding", func() bool {
		for _, r := range stored(t, s, store.Query{Scope: Scope(digest), State: "open"}) {
			if about(r, minimistGHSA) {
				return true
			}
		}
		return false
	})
	stopUpdates()
	<-updDone
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if len(errs) > 0 {
		t.Errorf("update loop errors: %v", errs)
	}
	if n := fetch.n.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestAnotherReplicaScans: the replica that scans an image need not be the one that holds the
// snapshot: the scanner stores the inventory, and the leader records its findings at its next
// snapshot.
func TestAnotherReplicaScans(t *testing.T) {
	ctx := context.Background()
	dir, digest := appLayout(t)
	lay, err := image.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(t.TempDir(), "db")
	importDB(t, dbDir, npmMirror(t))
	s := openStore(t)
	leader, err := New(Options{Store: s, DBDir: dbDir, Owner: "leader"})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	worker, err := New(Options{Store: s, DBDir: dbDir, Owner: "worker", Fetcher: Sources{Layout: lay}, Scan: image.Options{TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	snap := snapshot(map[string][]string{digest: {"web"}})
	if n, err := leader.SetSnapshot(ctx, snap); err != nil || n != 1 {
		t.Fatalf("leader enqueued %d (%v)", n, err)
	}
	if n, err := worker.Work(ctx); err != nil || n != 1 {
		t.Fatalf("worker scanned %d (%v)", n, err)
	}
	if n := len(stored(t, s, store.Query{Scope: Scope(digest)})); n != 0 {
		t.Fatalf("the worker, which has no snapshot, recorded %d findings", n)
	}
	if n, err := leader.SetSnapshot(ctx, snap); err != nil || n != 0 {
		t.Fatalf("leader's next snapshot enqueued %d (%v), want 0", n, err)
	}
	if n := len(stored(t, s, store.Query{Scope: Scope(digest), State: "open"})); n == 0 {
		t.Error("the leader did not record the findings of the image the worker scanned")
	}
}
