package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

func outbox(t *testing.T, s store.Store) store.Outbox {
	t.Helper()
	o, ok := s.(store.Outbox)
	if !ok {
		t.Fatal("the store does not implement store.Outbox")
	}
	return o
}

func claim(t *testing.T, o store.Outbox, receiver, owner string, now time.Time, max int) []store.Notification {
	t.Helper()
	ns, err := o.ClaimNotifications(ctx(t), receiver, owner, now, time.Minute, max)
	if err != nil {
		t.Fatalf("ClaimNotifications(%s): %v", receiver, err)
	}
	return ns
}

func notifIDs(ns []store.Notification) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func what(ns []store.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n.Kind) + " " + n.Record.Finding.Check
	}
	slices.Sort(out)
	return out
}

// testOutbox: each receiver is sent the changes at or above its severity (never suppressed
// findings, resolutions only if it asks), once; failures wait for their retry time; a claim
// that expires goes back to the queue.
func testOutbox(t *testing.T, open Open) {
	s := open(t)
	o := outbox(t, s)
	if err := o.SetReceivers(ctx(t), []store.Receiver{{Name: "ops", MinSeverity: finding.High, Resolved: true}, {Name: "all"}}); err != nil {
		t.Fatal(err)
	}
	a := mk("privileged-container", "shop", "web", finding.Critical)
	b := mk("latest-tag", "shop", "web", finding.Low)
	c := mk("host-pid", "shop", "web", finding.High)
	c.Suppressed = &finding.Suppression{Source: "config", Reason: "accepted", Owner: "sec"}
	record(t, s, store.ScopeCluster, hour(0), a, b, c)

	ns := claim(t, o, "ops", "r1", hour(0), 10)
	if got := what(ns); !slices.Equal(got, []string{"opened privileged-container"}) {
		t.Fatalf("ops was sent %v, want the critical finding only", got)
	}
	if ns[0].Record.ID != store.Fingerprint(&a) || ns[0].ScanID == 0 || ns[0].Attempts != 1 || !ns[0].Created.Equal(hour(0)) {
		t.Errorf("notification %+v", ns[0])
	}
	if again := claim(t, o, "ops", "r2", hour(0).Add(time.Second), 10); len(again) != 0 {
		t.Errorf("claimed notifications were claimed again within the lease: %v", what(again))
	}
	if err := o.Delivered(ctx(t), "r1", notifIDs(ns), hour(0)); err != nil {
		t.Fatal(err)
	}
	if err := o.Delivered(ctx(t), "r1", notifIDs(ns), hour(0)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("delivering twice: %v, want ErrLeaseLost", err)
	}

	all := claim(t, o, "all", "r1", hour(0), 10)
	if got := what(all); !slices.Equal(got, []string{"opened latest-tag", "opened privileged-container"}) {
		t.Fatalf("all was sent %v, want both unsuppressed findings", got)
	}
	if err := o.DeliveryFailed(ctx(t), "r1", notifIDs(all), hour(0).Add(5*time.Minute), "HTTP 500 from the receiver"); err != nil {
		t.Fatal(err)
	}
	st, err := o.OutboxStats(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ReceiverStats{{Receiver: "all", Pending: 2, Oldest: hour(0), Failing: 2}, {Receiver: "ops"}}
	if len(st) != 2 || st[0].Receiver != "all" || st[0].Pending != 2 || st[0].Failing != 2 || !st[0].Oldest.Equal(hour(0)) || st[1] != want[1] {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if early := claim(t, o, "all", "r1", hour(0).Add(4*time.Minute), 10); len(early) != 0 {
		t.Errorf("a failed notification was due before its retry time: %v", what(early))
	}
	retry := claim(t, o, "all", "r1", hour(0).Add(5*time.Minute), 10)
	if len(retry) != 2 || retry[0].Attempts != 2 || retry[0].LastError != "HTTP 500 from the receiver" {
		t.Fatalf("retry: %+v", retry)
	}
	// r1 dies holding them; after the lease r2 takes them over and r1 can no longer settle.
	taken := claim(t, o, "all", "r2", hour(0).Add(7*time.Minute), 10)
	if len(taken) != 2 {
		t.Fatalf("after r1's lease expired r2 claimed %d, want 2", len(taken))
	}
	if err := o.Delivered(ctx(t), "r1", notifIDs(retry), hour(1)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("the expired owner settled: %v, want ErrLeaseLost", err)
	}
	if err := o.Delivered(ctx(t), "r2", notifIDs(taken), hour(1)); err != nil {
		t.Fatal(err)
	}

	// Delivered notifications can be pruned, by delivery time.
	if n, err := o.PruneDelivered(ctx(t), hour(0).Add(30*time.Minute)); err != nil || n != 1 {
		t.Errorf("PruneDelivered before r2's delivery: %d, %v; want ops's one notification", n, err)
	}
	if n, err := o.PruneDelivered(ctx(t), hour(9)); err != nil || n != 2 {
		t.Errorf("PruneDelivered: %d, %v; want all's two", n, err)
	}

	// The finding that goes away is sent to ops as resolved, and not to all.
	record(t, s, store.ScopeCluster, hour(2), b, c)
	res := claim(t, o, "ops", "r1", hour(2), 10)
	if got := what(res); !slices.Equal(got, []string{"resolved privileged-container"}) {
		t.Errorf("after the critical finding went away, ops was sent %v", got)
	}
	if len(res) == 1 && res[0].Record.State != store.StateResolved {
		t.Errorf("a resolution carries the record in state %s", res[0].Record.State)
	}
	if err := o.Delivered(ctx(t), "r1", notifIDs(res), hour(2)); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, o, "all", "r1", hour(2), 10); len(got) != 0 {
		t.Errorf("all (no resolutions) was sent %v", what(got))
	}
	// Event-like findings notify too.
	e := mk("shell-spawned", "shop", "web", finding.Critical)
	e.Phase = finding.PhaseRuntime
	if _, err := s.AddFindings(ctx(t), "runtime", hour(3), []finding.Finding{e}); err != nil {
		t.Fatal(err)
	}
	if got := what(claim(t, o, "ops", "r1", hour(3), 10)); !slices.Equal(got, []string{"opened shell-spawned"}) {
		t.Errorf("after a runtime detection, ops was sent %v", got)
	}
	// Removing a receiver drops what waits for it.
	record(t, s, store.ScopeCluster, hour(4), b, c, mk("host-network", "shop", "web", finding.Medium))
	if err := o.SetReceivers(ctx(t), []store.Receiver{{Name: "ops", MinSeverity: finding.High}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := o.OutboxStats(ctx(t)); len(st) != 1 || st[0].Receiver != "ops" {
		t.Errorf("stats after removing all: %+v", st)
	}
	if err := o.SetReceivers(ctx(t), []store.Receiver{{Name: "x"}, {Name: "x"}}); err == nil {
		t.Error("two receivers with one name were accepted")
	}
}

// testOutboxConcurrentClaims: senders on several replicas never claim one notification twice.
func testOutboxConcurrentClaims(t *testing.T, open Open) {
	s := open(t)
	o := outbox(t, s)
	if err := o.SetReceivers(ctx(t), []store.Receiver{{Name: "hook"}}); err != nil {
		t.Fatal(err)
	}
	const n = 300
	record(t, s, store.ScopeCluster, hour(0), many(n)...)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for c := range 4 {
		owner := fmt.Sprintf("sender-%d", c)
		wg.Go(func() {
			for {
				ns, err := o.ClaimNotifications(context.Background(), "hook", owner, hour(0), time.Minute, 7)
				if err != nil {
					errs <- err
					return
				}
				if len(ns) == 0 {
					return
				}
				mu.Lock()
				for _, x := range ns {
					if prev, dup := seen[x.ID]; dup {
						errs <- fmt.Errorf("notification %d claimed by %s and %s", x.ID, prev, owner)
					}
					seen[x.ID] = owner
				}
				mu.Unlock()
				if err := o.Delivered(context.Background(), owner, notifIDs(ns), hour(0)); err != nil {
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
	if len(seen) != n {
		t.Errorf("%d notifications delivered, want %d", len(seen), n)
	}
}

// testExceptions: an exception added through the API is validated, comes back whole with
// its expiry (which the policy model's JSON leaves out), and is listed oldest first.
func testExceptions(t *testing.T, open Open) {
	s := open(t)
	x, ok := s.(store.ExceptionStore)
	if !ok {
		t.Fatal("the store does not implement store.ExceptionStore")
	}
	good := finding.Exception{
		Checks:    []string{"host-*"},
		Resources: []finding.Selector{{Namespace: "kube-system", Kind: "DaemonSet", Name: "cilium"}},
		Reason:    "the CNI needs the host network", Owner: "platform@example.com",
		Expires: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	first, err := x.AddException(ctx(t), store.StoredException{Exception: good, CreatedBy: "system:serviceaccount:sec:bot", CreatedAt: hour(0)})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.Exception.Source != "api" {
		t.Errorf("stored %+v", first)
	}
	second := good
	second.Checks, second.Resources, second.Vulnerabilities, second.Expires = nil, nil, []string{"CVE-2024-0001"}, time.Time{}
	if _, err := x.AddException(ctx(t), store.StoredException{Exception: second, CreatedBy: "bob", CreatedAt: hour(1)}); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(e *finding.Exception){
		"no reason":          func(e *finding.Exception) { e.Reason = " " },
		"no owner":           func(e *finding.Exception) { e.Owner = "" },
		"matches everything": func(e *finding.Exception) { e.Checks, e.Resources = nil, nil },
		"malformed pattern":  func(e *finding.Exception) { e.Checks = []string{"host-["} },
	} {
		e := good
		mutate(&e)
		if _, err := x.AddException(ctx(t), store.StoredException{Exception: e, CreatedBy: "someone", CreatedAt: hour(2)}); err == nil {
			t.Errorf("%s: stored", name)
		}
	}
	list, err := x.Exceptions(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d exceptions stored, want 2", len(list))
	}
	got := list[0]
	if got.ID != first.ID || got.CreatedBy != "system:serviceaccount:sec:bot" || !got.CreatedAt.Equal(hour(0)) || !got.Exception.Expires.Equal(good.Expires) {
		t.Errorf("listed %+v", got)
	}
	if !list[1].Exception.Expires.IsZero() || list[1].CreatedBy != "bob" {
		t.Errorf("second listed %+v", list[1])
	}
	f := mk("host-network", "kube-system", "cilium", finding.High)
	f.Resource.Kind = "DaemonSet"
	if !got.Exception.Matches(&f) || got.Exception.Expired(finding.Today(hour(0))) {
		t.Errorf("the stored exception does not match what it was written for")
	}
}
