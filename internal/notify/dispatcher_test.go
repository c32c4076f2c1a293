package notify

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// Each new finding at or above the receiver's severity is one message, with the documented
// payload; an audit that changes nothing sends nothing; lower severities are not sent.
func TestOneMessagePerNewFinding(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k := newSink(t)
	d, err := NewDispatcher(t.Context(), s, []Receiver{webhookTo("ops", k, finding.High, false)}, quickOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)

	a := mk("privileged-container", "web", finding.Critical)
	b := mk("host-pid", "api", finding.High)
	low := mk("latest-tag", "web", finding.Low)
	record(t, s, a, low)
	d.Wake()
	waitFor(t, 5*time.Second, "the first message", func() bool { return k.count() == 1 })
	record(t, s, a, b, low)
	d.Wake()
	waitFor(t, 5*time.Second, "the second message", func() bool { return k.count() == 2 })
	// Same findings again: nothing new.
	record(t, s, a, b, low)
	d.Wake()
	time.Sleep(200 * time.Millisecond)

	ps := k.payloads(t)
	if len(ps) != 2 {
		t.Fatalf("the receiver got %d messages, want 2 (one per new finding at or above high)", len(ps))
	}
	for i, want := range []finding.Finding{a, b} {
		p := ps[i]
		if p.Version != PayloadVersion || p.Receiver != "ops" || p.Digest || len(p.Items) != 1 || p.Summary.Opened != 1 {
			t.Fatalf("message %d: %+v", i, p)
		}
		it := p.Items[0]
		id := store.Fingerprint(&want)
		if it.Event != store.EventOpened || it.RecordID != id || it.Finding.Check != want.Check || it.Workload != want.Resource ||
			it.State != store.StateOpen || it.FirstSeen.IsZero() || it.LastSeen.Before(it.FirstSeen) || it.ScanID == 0 {
			t.Errorf("message %d item: %+v", i, it)
		}
		if it.URL != "https://redoubt.example.test/api/v1/findings/"+id {
			t.Errorf("message %d links to %q", i, it.URL)
		}
	}
}

// 100 findings arriving at once are one digest message; with a smaller maximum, several.
func TestDigest(t *testing.T) {
	for _, tc := range []struct {
		max      int
		messages []int // notifications per message
	}{
		{0, []int{100}},
		{30, []int{30, 30, 30, 10}},
	} {
		t.Run("", func(t *testing.T) {
			s := openStore(t, t.TempDir())
			defer s.Close()
			k := newSink(t)
			opts := quickOpts(t)
			opts.MaxPerMessage = tc.max
			d, err := NewDispatcher(t.Context(), s, []Receiver{webhookTo("ops", k, finding.High, false)}, opts)
			if err != nil {
				t.Fatal(err)
			}
			record(t, s, many(100, finding.Critical)...)
			start(t, d)
			waitFor(t, 10*time.Second, "100 notifications", func() bool { return len(items(t, k)) == 100 })
			var sizes []int
			for _, p := range k.payloads(t) {
				sizes = append(sizes, len(p.Items))
				if !p.Digest || p.Summary.Total != len(p.Items) || p.Summary.BySeverity["critical"] != len(p.Items) {
					t.Errorf("digest %+v", p.Summary)
				}
			}
			if !slices.Equal(sizes, tc.messages) {
				t.Errorf("messages carried %v notifications, want %v", sizes, tc.messages)
			}
		})
	}
}

// Resolutions go to the receivers that ask for them, and to no other.
func TestResolved(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	withRes, without := newSink(t), newSink(t)
	d, err := NewDispatcher(t.Context(), s, []Receiver{
		webhookTo("with", withRes, finding.High, true), webhookTo("without", without, finding.High, false)}, quickOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	a := mk("privileged-container", "web", finding.Critical)
	record(t, s, a)
	d.Wake()
	waitFor(t, 5*time.Second, "the opened notifications", func() bool { return withRes.count() == 1 && without.count() == 1 })
	record(t, s) // a is gone: resolved
	d.Wake()
	waitFor(t, 5*time.Second, "the resolution", func() bool { return withRes.count() == 2 })
	time.Sleep(100 * time.Millisecond)
	if without.count() != 1 {
		t.Errorf("a receiver that did not ask for resolutions got %d messages", without.count())
	}
	it := withRes.payloads(t)[1].Items[0]
	if it.Event != store.EventResolved || it.State != store.StateResolved || it.ResolvedAt == nil || it.RecordID != store.Fingerprint(&a) {
		t.Errorf("resolution item %+v", it)
	}
}

// A receiver that fails three times and then recovers gets every notification exactly once.
func TestFailingReceiverRecovers(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k := newSink(t)
	k.fail = 3
	reg := prometheus.NewPedanticRegistry()
	d, err := NewDispatcher(t.Context(), s, []Receiver{webhookTo("ops", k, finding.High, false)}, quickOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(d.Collectors()...)
	start(t, d)
	var want []string
	for i := range 5 {
		fs := many(10*(i+1), finding.High)[10*i:]
		for _, f := range fs {
			want = append(want, store.Fingerprint(&f))
		}
		record(t, s, append(many(10*i, finding.High), fs...)...)
		d.Wake()
	}
	waitFor(t, 10*time.Second, "50 notifications", func() bool { return len(items(t, k)) == 50 })
	time.Sleep(200 * time.Millisecond)
	var got []string
	for id, n := range items(t, k) {
		if n != 1 {
			t.Errorf("notification %d was delivered %d times", id, n)
		}
	}
	for _, p := range k.payloads(t) {
		for _, it := range p.Items {
			got = append(got, it.RecordID)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("delivered %d records, want the %d new ones", len(got), len(want))
	}
	if v := value(t, d.m.sent.WithLabelValues("ops")); v != 50 {
		t.Errorf("sent_total = %v, want 50", v)
	}
	if v := value(t, d.m.failed.WithLabelValues("ops")); v < 3 {
		t.Errorf("failed_total = %v, want at least the 3 failed messages", v)
	}
	if v := value(t, d.m.failing.WithLabelValues("ops")); v != 0 {
		t.Errorf("receiver_failing = %v after recovery, want 0", v)
	}
	st, _ := s.OutboxStats(t.Context())
	if len(st) != 1 || st[0].Pending != 0 {
		t.Errorf("outbox after recovery: %+v", st)
	}
}

// A receiver that hangs times out and keeps its notifications; the other receivers are not held.
func TestHangingReceiverDoesNotBlockOthers(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	hung, ok := newSink(t), newSink(t)
	hung.hang = make(chan struct{})
	h := webhookTo("hung", hung, finding.High, false)
	h.timeout = 300 * time.Millisecond
	opts := quickOpts(t)
	opts.MinBackoff, opts.MaxBackoff = time.Minute, time.Minute
	d, err := NewDispatcher(t.Context(), s, []Receiver{h, webhookTo("ok", ok, finding.High, false)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(d.Collectors()...)
	start(t, d)
	for i := range 3 {
		record(t, s, many(i+1, finding.Critical)...)
		d.Wake()
		waitFor(t, 5*time.Second, "the healthy receiver", func() bool { return ok.count() == i+1 })
	}
	waitFor(t, 5*time.Second, "the hung receiver's failure", func() bool {
		return value(t, d.m.failed.WithLabelValues("hung")) >= 1
	})
	st, err := s.OutboxStats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st {
		if r.Receiver == "hung" && (r.Pending != 3 || r.Failing == 0) {
			t.Errorf("hung receiver's backlog %+v, want its 3 notifications kept", r)
		}
	}
	// The backlog is in the metrics.
	got := gather(t, reg)
	want := map[string]float64{`redoubt_notifications_pending{receiver="hung"}`: 3, `redoubt_notifications_pending{receiver="ok"}`: 0,
		`redoubt_notifications_oldest_pending_age_seconds{receiver="ok"}`: 0,
		`redoubt_notifications_pending_failed{receiver="ok"}`:             0}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// The first claim timed out; the rest wait behind its backoff, untried.
	if n := got[`redoubt_notifications_pending_failed{receiver="hung"}`]; n < 1 || n > 3 {
		t.Errorf("the hung receiver has %v failed notifications pending, want 1 to 3", n)
	}
	if age := got[`redoubt_notifications_oldest_pending_age_seconds{receiver="hung"}`]; age <= 0 || age > 60 {
		t.Errorf("the hung receiver's oldest pending age is %vs", age)
	}
}

// Notifications pending when the process stops (the receiver was down) are delivered by the
// next process, from the store file, once each.
func TestRestartDeliversPending(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	k := newSink(t)
	k.fail = 1 << 30
	d, err := NewDispatcher(t.Context(), s, []Receiver{webhookTo("ops", k, finding.High, false)}, quickOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d)
	record(t, s, many(7, finding.High)...)
	d.Wake()
	waitFor(t, 5*time.Second, "a failed attempt", func() bool { return value(t, d.m.failed.WithLabelValues("ops")) >= 1 })
	stop()
	record(t, s, many(12, finding.High)...) // 5 more while no dispatcher runs
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	k.mu.Lock()
	k.fail = 0
	k.mu.Unlock()
	s = openStore(t, dir)
	defer s.Close()
	opts := quickOpts(t)
	opts.Owner = "second-process"
	d2, err := NewDispatcher(t.Context(), s, []Receiver{webhookTo("ops", k, finding.High, false)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	start(t, d2)
	waitFor(t, 5*time.Second, "12 notifications", func() bool { return len(items(t, k)) == 12 })
	time.Sleep(100 * time.Millisecond)
	for id, n := range items(t, k) {
		if n != 1 {
			t.Errorf("notification %d delivered %d times", id, n)
		}
	}
}

// countingOutbox counts claims on a real store, to show the dispatcher does not poll when idle.
type countingOutbox struct {
	store.Outbox
	claims atomic.Int64
	pruned atomic.Int64
}

func (c *countingOutbox) PruneDelivered(ctx context.Context, before time.Time) (int, error) {
	n, err := c.Outbox.PruneDelivered(ctx, before)
	c.pruned.Add(int64(n))
	return n, err
}

func (c *countingOutbox) ClaimNotifications(ctx context.Context, r, o string, now time.Time, l time.Duration, max int) ([]store.Notification, error) {
	c.claims.Add(1)
	return c.Outbox.ClaimNotifications(ctx, r, o, now, l, max)
}

func TestIdleDoesNotPoll(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k := newSink(t)
	co := &countingOutbox{Outbox: s}
	d, err := NewDispatcher(t.Context(), co, []Receiver{webhookTo("ops", k, finding.High, false)}, quickOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	record(t, s, mk("privileged-container", "web", finding.Critical))
	d.Wake()
	waitFor(t, 5*time.Second, "the message", func() bool { return k.count() == 1 })
	time.Sleep(50 * time.Millisecond)
	before := co.claims.Load()
	time.Sleep(500 * time.Millisecond) // 10 times MaxBackoff: a polling loop would have claimed
	if after := co.claims.Load(); after != before {
		t.Errorf("an idle dispatcher claimed %d times in 500ms", after-before)
	}
}

// A batch too large for one body is sent in pieces, none lost.
func TestTooLargeIsSplit(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k := newSink(t)
	w := webhookTo("ops", k, finding.High, false)
	w.maxBody = 16 << 10
	d, err := NewDispatcher(t.Context(), s, []Receiver{w}, quickOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	record(t, s, many(100, finding.High)...)
	start(t, d)
	waitFor(t, 10*time.Second, "100 notifications", func() bool { return len(items(t, k)) == 100 })
	for _, m := range k.msgs {
		if len(m) > 16<<10 {
			t.Errorf("a message of %d bytes exceeded the 16 KiB limit", len(m))
		}
	}
	if k.count() < 2 {
		t.Errorf("%d messages, want the batch split", k.count())
	}
}

func TestBackoff(t *testing.T) {
	d := &Dispatcher{opts: Options{MinBackoff: time.Second, MaxBackoff: time.Minute}}
	for _, tc := range []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{100, 30 * time.Second, time.Minute},
	} {
		for range 50 {
			if got := d.backoff(tc.attempt); got < tc.lo || got > tc.hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.attempt, got, tc.lo, tc.hi)
			}
		}
	}
}

func TestDuplicateReceiver(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k := newSink(t)
	_, err := NewDispatcher(t.Context(), s, []Receiver{webhookTo("ops", k, finding.High, false), webhookTo("ops", k, finding.Low, false)}, quickOpts(t))
	if err == nil || !strings.Contains(err.Error(), `"ops"`) {
		t.Errorf("two receivers named ops: %v", err)
	}
}

// A Wake during a receiver's backoff (another audit stored something) keeps the retry time: the
// retry happens at its backoff, not at the much later fallback for unknown backlogs.
func TestWakeDuringBackoffKeepsRetry(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k := newSink(t)
	k.fail = 1
	opts := quickOpts(t)
	opts.MinBackoff, opts.MaxBackoff, opts.Lease = 200*time.Millisecond, time.Hour, time.Hour
	d, err := NewDispatcher(t.Context(), s, []Receiver{webhookTo("ops", k, finding.High, false)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	record(t, s, mk("privileged-container", "web", finding.Critical))
	d.Wake()
	waitFor(t, 5*time.Second, "the failure", func() bool { return value(t, d.m.failed.WithLabelValues("ops")) == 1 })
	d.Wake()
	waitFor(t, 5*time.Second, "the retry", func() bool { return k.count() == 1 })
}

// Delivered notifications older than Retain are pruned; pending ones never.
func TestPrune(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	k, down := newSink(t), newSink(t)
	down.fail = 1 << 30
	opts := quickOpts(t)
	opts.Retain = time.Nanosecond
	opts.MinBackoff, opts.MaxBackoff = time.Hour, time.Hour
	co := &countingOutbox{Outbox: s}
	d, err := NewDispatcher(t.Context(), co, []Receiver{webhookTo("ok", k, finding.High, false), webhookTo("down", down, finding.High, false)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	record(t, s, many(5, finding.High)...)
	start(t, d)
	waitFor(t, 5*time.Second, "delivery", func() bool { return k.count() == 1 && value(t, d.m.failed.WithLabelValues("down")) == 5 })
	// The next round prunes (the first one ran before anything was delivered, and pruning is
	// hourly: move it back).
	d.pruneMu.Lock()
	d.lastPrune = time.Time{}
	d.pruneMu.Unlock()
	d.Wake()
	waitFor(t, 5*time.Second, "the 5 delivered notifications pruned", func() bool { return co.pruned.Load() == 5 })
	st, _ := s.OutboxStats(t.Context())
	for _, r := range st {
		if r.Receiver == "down" && r.Pending != 5 {
			t.Errorf("pruning touched pending notifications: %+v", r)
		}
	}
}
