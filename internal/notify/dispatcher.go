package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"redoubt.dev/redoubt/internal/store"
)

// Options tune a Dispatcher. Zero values take the defaults.
type Options struct {
	// Owner names this process in claims (default host name and process ID): replicas sharing
	// one PostgreSQL outbox never send the same notification at once.
	Owner string
	// MaxPerMessage bounds one digest message (default 100).
	MaxPerMessage int
	// Lease is how long a claim holds (default 2m; longer than a POST's timeout).
	Lease time.Duration
	// MinBackoff is the first retry's wait (default 5s); each failure doubles it up to MaxBackoff
	// (default 10m), with jitter of up to half of it.
	MinBackoff, MaxBackoff time.Duration
	// FailingAfter is how many failures in a row make a receiver "failing" in logs and the
	// redoubt_notify_receiver_failing gauge (default 3).
	FailingAfter int
	// Retain is how long delivered notifications are kept before they are pruned (default 7 days;
	// pruning runs at most hourly, after deliveries, never on an idle timer).
	Retain time.Duration
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Dispatcher sends the outbox's notifications to the receivers: one goroutine per receiver, so
// a receiver that hangs delays no other.
type Dispatcher struct {
	outbox    store.Outbox
	receivers []Receiver
	opts      Options
	log       *slog.Logger
	wake      []chan struct{}
	m         *metrics

	pruneMu   sync.Mutex
	lastPrune time.Time
}

// NewDispatcher registers the receivers with the outbox (SetReceivers: from then on every audit
// queues notifications for them, and those pending for receivers no longer configured are
// dropped) and returns a dispatcher for them. Call it before the first audit is recorded.
func NewDispatcher(ctx context.Context, outbox store.Outbox, receivers []Receiver, opts Options) (*Dispatcher, error) {
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if opts.MaxPerMessage <= 0 {
		opts.MaxPerMessage = 100
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 5 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Minute
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.FailingAfter <= 0 {
		opts.FailingAfter = 3
	}
	if opts.Retain <= 0 {
		opts.Retain = 7 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rs := make([]store.Receiver, len(receivers))
	seen := map[string]bool{}
	for i, r := range receivers {
		rs[i] = r.Store()
		if seen[rs[i].Name] {
			return nil, fmt.Errorf("notification receiver %q is configured twice", rs[i].Name)
		}
		seen[rs[i].Name] = true
	}
	if err := outbox.SetReceivers(ctx, rs); err != nil {
		return nil, fmt.Errorf("registering the notification receivers with the store: %w", err)
	}
	d := &Dispatcher{outbox: outbox, receivers: receivers, opts: opts, log: opts.Logger.With("component", "notify")}
	d.m = newMetrics(d)
	for range receivers {
		d.wake = append(d.wake, make(chan struct{}, 1))
	}
	return d, nil
}

// Wake tells the dispatcher that an audit stored new notifications. It never blocks: call it
// from the audit loop after RecordScan.
func (d *Dispatcher) Wake() {
	for _, c := range d.wake {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Run delivers until ctx is done. It starts by delivering what is pending (notifications left
// by an earlier process), then waits for Wake or for the next retry time; it does not poll
// while nothing is pending. With no receivers it only waits for ctx.
func (d *Dispatcher) Run(ctx context.Context) error {
	if len(d.receivers) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	var wg sync.WaitGroup
	for i, r := range d.receivers {
		wg.Go(func() { d.run(ctx, r, d.wake[i]) })
	}
	wg.Wait()
	return ctx.Err()
}

// run is one receiver's loop.
func (d *Dispatcher) run(ctx context.Context, r Receiver, wake <-chan struct{}) {
	name := r.Store().Name
	log := d.log.With("receiver", name)
	st := &receiverState{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := d.drain(ctx, r, log, st)
		if ctx.Err() != nil {
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
	}
}

// receiverState is what one receiver's loop remembers between rounds.
type receiverState struct {
	failures int       // failed messages in a row
	retry    time.Time // the earliest retry time of what this loop saw fail
}

// noteRetry remembers a retry time, keeping the earliest one still ahead.
func (st *receiverState) noteRetry(t, now time.Time) {
	if !st.retry.After(now) || t.Before(st.retry) {
		st.retry = t
	}
}

// drain sends every due notification of r, and returns when to look again: zero when nothing is
// pending (wait for Wake), else the earliest retry time it knows of.
func (d *Dispatcher) drain(ctx context.Context, r Receiver, log *slog.Logger, st *receiverState) time.Time {
	name := r.Store().Name
	for ctx.Err() == nil {
		ns, err := d.outbox.ClaimNotifications(ctx, name, d.opts.Owner, d.opts.Now(), d.opts.Lease, d.opts.MaxPerMessage)
		if err != nil {
			if ctx.Err() != nil {
				return time.Time{}
			}
			log.Error("claiming notifications from the store", "error", err)
			d.m.storeErrors.WithLabelValues(name).Inc()
			return d.opts.Now().Add(d.opts.MinBackoff)
		}
		if len(ns) == 0 {
			break
		}
		if t := d.send(ctx, r, log, st, ns); !t.IsZero() {
			// The receiver failed: do not try the rest of the backlog on it now.
			st.noteRetry(t, d.opts.Now())
			break
		}
	}
	d.prune(ctx, log)
	if now := d.opts.Now(); st.retry.After(now) {
		return st.retry
	}
	// Nothing due, and no retry known. Something may still be pending: failed ones from an
	// earlier process, or claims of a replica that died (free again when their lease ends). Look
	// again when the longest of those could be due; when nothing is pending, wait for Wake only.
	stats, err := d.outbox.OutboxStats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("reading the outbox backlog", "error", err)
			d.m.storeErrors.WithLabelValues(name).Inc()
		}
		return d.opts.Now().Add(d.opts.MaxBackoff)
	}
	for _, s := range stats {
		if s.Receiver == name && s.Pending > 0 {
			return d.opts.Now().Add(min(d.opts.MaxBackoff, d.opts.Lease))
		}
	}
	return time.Time{}
}

// send delivers one claimed batch, splitting it when it is too large for one message, and
// settles it in the store. It returns the retry time of what failed, or zero.
func (d *Dispatcher) send(ctx context.Context, r Receiver, log *slog.Logger, st *receiverState, ns []store.Notification) time.Time {
	name := r.Store().Name
	body, err := r.Encode(ns)
	if errors.Is(err, ErrTooLarge) && len(ns) > 1 {
		a := d.send(ctx, r, log, st, ns[:len(ns)/2])
		b := d.send(ctx, r, log, st, ns[len(ns)/2:])
		if a.IsZero() || (!b.IsZero() && b.Before(a)) {
			return b
		}
		return a
	}
	ids := make([]int64, len(ns))
	attempts := 0
	for i, n := range ns {
		ids[i] = n.ID
		attempts = max(attempts, n.Attempts)
	}
	start := time.Now()
	if err == nil {
		err = r.Post(ctx, body)
	}
	d.m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	if err == nil {
		if err := d.outbox.Delivered(context.WithoutCancel(ctx), d.opts.Owner, ids, d.opts.Now()); err != nil {
			// Sent but not marked: it will be sent again after the lease (at least once).
			log.Error("marking notifications delivered", "error", err, "notifications", len(ns))
			d.m.storeErrors.WithLabelValues(name).Inc()
		}
		d.m.sent.WithLabelValues(name).Add(float64(len(ns)))
		d.m.messages.WithLabelValues(name).Inc()
		if st.failures >= d.opts.FailingAfter {
			log.Info("notification receiver recovered", "failedBefore", st.failures)
		}
		st.failures = 0
		d.m.failing.WithLabelValues(name).Set(0)
		log.Debug("notifications sent", "notifications", len(ns))
		return time.Time{}
	}
	if ctx.Err() != nil {
		// Shutting down: give them back at once for the next process.
		_ = d.outbox.DeliveryFailed(context.WithoutCancel(ctx), d.opts.Owner, ids, d.opts.Now(), "interrupted: "+err.Error())
		return time.Time{}
	}
	next := d.opts.Now().Add(d.backoff(attempts))
	reason := err.Error()
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	if serr := d.outbox.DeliveryFailed(context.WithoutCancel(ctx), d.opts.Owner, ids, next, reason); serr != nil {
		log.Error("marking notifications failed", "error", serr, "notifications", len(ns))
		d.m.storeErrors.WithLabelValues(name).Inc()
	}
	st.failures++
	d.m.failed.WithLabelValues(name).Add(float64(len(ns)))
	level := slog.LevelWarn
	msg := "sending notifications failed; will retry"
	if st.failures >= d.opts.FailingAfter {
		level, msg = slog.LevelError, "notification receiver keeps failing; notifications wait in the store"
		d.m.failing.WithLabelValues(name).Set(1)
	}
	log.Log(ctx, level, msg, "error", err, "notifications", len(ns), "attempt", attempts, "failuresInARow", st.failures, "nextTry", next)
	return next
}

// backoff is the wait after the attempt-th failure: MinBackoff·2^(attempt-1), at most
// MaxBackoff, of which a random part up to half is taken off so that many receivers failing
// together do not retry together.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	w := d.opts.MinBackoff
	for i := 1; i < attempt && w < d.opts.MaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.opts.MaxBackoff)
	return w - time.Duration(rand.Int64N(int64(w/2)+1))
}

// prune deletes notifications delivered longer than Retain ago, at most once an hour.
func (d *Dispatcher) prune(ctx context.Context, log *slog.Logger) {
	now := d.opts.Now()
	d.pruneMu.Lock()
	if now.Sub(d.lastPrune) < time.Hour {
		d.pruneMu.Unlock()
		return
	}
	d.lastPrune = now
	d.pruneMu.Unlock()
	n, err := d.outbox.PruneDelivered(ctx, now.Add(-d.opts.Retain))
	if err != nil {
		if ctx.Err() == nil {
			log.Error("pruning delivered notifications", "error", err)
		}
		return
	}
	if n > 0 {
		log.Info("pruned delivered notifications", "notifications", n, "deliveredBefore", now.Add(-d.opts.Retain))
	}
}
