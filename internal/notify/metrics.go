package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	sent, failed, messages, storeErrors *prometheus.CounterVec
	failing                             *prometheus.GaugeVec
	duration                            *prometheus.HistogramVec
	backlog                             *backlog
}

func newMetrics(d *Dispatcher) *metrics {
	l := []string{"receiver"}
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_notifications_sent_total",
			Help: "Notifications delivered, by receiver."}, l),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_notifications_failed_total",
			Help: "Notification deliveries that failed and wait for a retry, by receiver."}, l),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_notification_messages_sent_total",
			Help: "Messages (one notification or a digest) accepted by the receiver."}, l),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_notification_store_errors_total",
			Help: "Outbox reads and writes that failed."}, l),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "redoubt_notification_receiver_failing",
			Help: "1 while a receiver has failed several times in a row, else 0."}, l),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "redoubt_notification_send_duration_seconds",
			Help: "Time of one POST to a receiver.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 7)}, l),
		backlog: &backlog{d: d,
			pending: prometheus.NewDesc("redoubt_notifications_pending", "Notifications not yet delivered, by receiver.", l, nil),
			oldest: prometheus.NewDesc("redoubt_notifications_oldest_pending_age_seconds",
				"Age of the oldest undelivered notification, by receiver; 0 when none waits.", l, nil),
			retried: prometheus.NewDesc("redoubt_notifications_pending_failed",
				"Undelivered notifications that have failed at least once, by receiver.", l, nil),
		},
	}
	for _, r := range d.receivers {
		n := r.Store().Name
		m.sent.WithLabelValues(n)
		m.failed.WithLabelValues(n)
		m.messages.WithLabelValues(n)
		m.failing.WithLabelValues(n)
	}
	return m
}

// Collectors returns the dispatcher's metrics for a Prometheus registry. The backlog (pending,
// oldest pending age) is read from the store when scraped, so it is right across replicas.
func (d *Dispatcher) Collectors() []prometheus.Collector {
	return []prometheus.Collector{d.m.sent, d.m.failed, d.m.messages, d.m.storeErrors, d.m.failing, d.m.duration, d.m.backlog}
}

// backlog reads the outbox's statistics at scrape time.
type backlog struct {
	d                        *Dispatcher
	pending, oldest, retried *prometheus.Desc
}

func (b *backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.pending
	ch <- b.oldest
	ch <- b.retried
}

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := b.d.outbox.OutboxStats(ctx)
	if err != nil {
		b.d.log.Error("reading the outbox backlog for metrics", "error", err)
		ch <- prometheus.NewInvalidMetric(b.pending, err)
		return
	}
	now := b.d.opts.Now()
	for _, s := range stats {
		age := 0.0
		if !s.Oldest.IsZero() {
			age = max(0, now.Sub(s.Oldest).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(b.pending, prometheus.GaugeValue, float64(s.Pending), s.Receiver)
		ch <- prometheus.MustNewConstMetric(b.oldest, prometheus.GaugeValue, age, s.Receiver)
		ch <- prometheus.MustNewConstMetric(b.retried, prometheus.GaugeValue, float64(s.Failing), s.Receiver)
	}
}
