package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"redoubt.dev/redoubt/internal/finding"
)

// metrics are the server's Prometheus metrics, on a registry of its own (never the global one),
// so two servers in one test process do not collide.
type metrics struct {
	registry *prometheus.Registry

	findings       *prometheus.GaugeVec // by phase and severity, unsuppressed, of the last stored audit
	suppressed     *prometheus.GaugeVec // the same, suppressed
	auditDuration  *prometheus.HistogramVec
	audits         prometheus.Counter
	auditErrors    *prometheus.CounterVec
	storeErrors    *prometheus.CounterVec
	watchEvents    *prometheus.CounterVec
	watchErrors    *prometheus.CounterVec
	watchLag       prometheus.Histogram
	lastEvent      prometheus.Gauge
	lastAudit      prometheus.Gauge
	reachable      prometheus.Gauge
	snapshotObject *prometheus.GaugeVec
}

func newMetrics(lastEventAge func() float64) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "redoubt_findings",
			Help: "Unsuppressed findings of the last stored cluster audit, by phase and severity."}, []string{"phase", "severity"}),
		suppressed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "redoubt_findings_suppressed",
			Help: "Suppressed findings of the last stored cluster audit, by phase and severity."}, []string{"phase", "severity"}),
		auditDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "redoubt_audit_duration_seconds",
			Help:    "Time of one re-audit, by stage: snapshot (build from the informers), audit (every analyzer), store (RecordScan), total.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"stage"}),
		audits: prometheus.NewCounter(prometheus.CounterOpts{Name: "redoubt_audits_total",
			Help: "Cluster audits stored."}),
		auditErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_audit_errors_total",
			Help: "Cluster audits that failed, by stage (audit, store); each is retried."}, []string{"stage"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_store_errors_total",
			Help: "Failed writes to the store, by operation."}, []string{"op"}),
		watchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_watch_events_total",
			Help: "Objects added, changed or deleted, as the informers saw them, by resource."}, []string{"resource"}),
		watchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "redoubt_watch_errors_total",
			Help: "Failed lists and watches, by resource; the informers retry by themselves."}, []string{"resource"}),
		watchLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "redoubt_watch_lag_seconds",
			Help:    "From the first change of a batch seen by the informers to the audit that covers it being stored (debounce included).",
			Buckets: []float64{.1, .25, .5, 1, 2, 3, 5, 10, 30, 60, 120}}),
		lastEvent: prometheus.NewGauge(prometheus.GaugeOpts{Name: "redoubt_watch_last_event_timestamp_seconds",
			Help: "When the informers last saw a change (Unix time); 0 before the first."}),
		lastAudit: prometheus.NewGauge(prometheus.GaugeOpts{Name: "redoubt_last_audit_timestamp_seconds",
			Help: "When the last cluster audit was stored (Unix time); 0 before the first."}),
		reachable: prometheus.NewGauge(prometheus.GaugeOpts{Name: "redoubt_apiserver_reachable",
			Help: "1 while the Kubernetes API server answers, 0 while it does not (the last state is served meanwhile)."}),
		snapshotObject: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "redoubt_snapshot_objects",
			Help: "Objects in the current snapshot, by kind."}, []string{"kind"}),
	}
	reg.MustRegister(m.findings, m.suppressed, m.auditDuration, m.audits, m.auditErrors, m.storeErrors,
		m.watchEvents, m.watchErrors, m.watchLag, m.lastEvent, m.lastAudit, m.reachable, m.snapshotObject,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "redoubt_watch_last_event_age_seconds",
			Help: "Seconds since the informers last saw a change; -1 before the first."}, lastEventAge),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Every label combination exists from the start, so a dashboard shows 0, not "no data".
	for _, p := range []finding.Phase{finding.PhaseInfra, finding.PhaseBuild, finding.PhaseDeploy, finding.PhaseRuntime} {
		for _, s := range finding.Severities() {
			m.findings.WithLabelValues(string(p), s.String())
			m.suppressed.WithLabelValues(string(p), s.String())
		}
	}
	for _, op := range []string{"record_scan", "read_exceptions"} {
		m.storeErrors.WithLabelValues(op)
	}
	for _, st := range []string{"audit", "store"} {
		m.auditErrors.WithLabelValues(st)
	}
	return m
}

// observeFindings replaces the findings gauges with the counts of one audit.
func (m *metrics) observeFindings(fs []finding.Finding) {
	type key struct {
		phase    finding.Phase
		severity finding.Severity
	}
	open, supp := map[key]int{}, map[key]int{}
	for i := range fs {
		k := key{fs[i].Phase, fs[i].Severity}
		if fs[i].Suppressed != nil {
			supp[k]++
		} else {
			open[k]++
		}
	}
	for _, p := range []finding.Phase{finding.PhaseInfra, finding.PhaseBuild, finding.PhaseDeploy, finding.PhaseRuntime} {
		for _, s := range finding.Severities() {
			k := key{p, s}
			m.findings.WithLabelValues(string(p), s.String()).Set(float64(open[k]))
			m.suppressed.WithLabelValues(string(p), s.String()).Set(float64(supp[k]))
		}
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
