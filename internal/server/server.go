// Package server is `redoubt serve`: the long-running process that keeps one current snapshot
// of a live cluster with informers, re-audits it with internal/audit after changes (batched),
// stores every audit with history, and serves /healthz, /readyz, /metrics and the API. It holds
// no analysis of its own: a finding it stores is the finding `redoubt scan` gives for the same
// objects.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/store"
)

// Defaults of Options.
const (
	DefaultDebounce      = 2 * time.Second
	DefaultProbeInterval = 10 * time.Minute
)

// Options configure a Server.
type Options struct {
	// Conn is the cluster to watch.
	Conn *cluster.Connection
	// Namespace limits the watch to one namespace; empty means the whole cluster.
	Namespace string
	// Store keeps every audit; required.
	Store store.Store
	// Audit are the options of every audit.Run (policy, PSS level, release calendar). Now is
	// ignored: each audit judges exceptions at its own time.
	Audit audit.Options
	// Debounce is how long the cluster must be quiet after a change before it is re-audited;
	// zero means DefaultDebounce. A burst of changes is one re-audit.
	Debounce time.Duration
	// MaxDelay bounds how long a change waits under continuous churn; zero means 10×Debounce.
	MaxDelay time.Duration
	// ProbeInterval is how often the live observations that no object holds (the anonymous
	// probe, the kubelets' configz) are read again; zero means DefaultProbeInterval, negative
	// means never (the snapshot then has none, and the checks that need them say so).
	ProbeInterval time.Duration
	// Observe reads those observations into a snapshot; nil means no observations. `redoubt
	// serve` passes probe.Observe, as `redoubt scan` does.
	Observe func(ctx context.Context, snap *inventory.Snapshot)
	// API is mounted at /api/v1/ when set.
	API http.Handler
	// Exceptions are the exceptions added through the API, applied by every audit after the
	// policy's; nil means Store's, when it keeps them. Give the API Server.Exceptions() so that
	// adding one re-audits.
	Exceptions store.ExceptionStore
	// Logger receives the server's JSON logs; nil means slog.Default().
	Logger *slog.Logger
	// Handlers are further endpoints, by ServeMux pattern ("POST /audit/v1/events"), each
	// authenticating its own callers.
	Handlers map[string]http.Handler
	// Collectors are registered on the server's metrics registry beside its own (the
	// notification dispatcher's, say).
	Collectors []prometheus.Collector
	// OnAudit is called after each audit is stored, from the audit loop: it must not block (wake
	// a notification dispatcher, hand the snapshot to the image watcher).
	OnAudit func(ctx context.Context, cur *Current)

	// clients replace the connection's (the benchmark's recorded lists).
	clients *cluster.Clients
}

// Current is the state of the last stored audit, for the API and the admission webhook.
type Current struct {
	// Version counts the audits of this process, from 1.
	Version  int64
	Snapshot *inventory.Snapshot
	Result   *audit.Result
	Scan     store.Scan
}

// Stats are the loop's counters, for tests and the readiness detail.
type Stats struct {
	// Audits is the number of audits stored since the start; Events the number of changes seen.
	Audits int64
	Events int64
	// Pending is true while changes wait for an audit (or one is running).
	Pending bool
}

// Server watches one cluster and keeps its audit current.
type Server struct {
	opts    Options
	log     *slog.Logger
	watch   *cluster.Watch
	metrics *metrics

	dirty chan struct{} // one token: something changed since the last audit began

	events       atomic.Int64
	audits       atomic.Int64
	pendingSince atomic.Int64 // UnixNano of the first change not yet covered by an audit; 0 if none
	lastEventAt  atomic.Int64
	auditing     atomic.Bool
	current      atomic.Pointer[Current]

	mu            sync.Mutex
	version       string // the API server's version as last learnt
	reachable     bool
	unreachableAt time.Time
	unreachableBy string
	lastError     string // the last audit or store error, cleared by a stored audit
	probedAt      time.Time
	probed        *inventory.Snapshot // holds only the observations of the last probe
}

// New makes a server; nothing runs until Run.
func New(opts Options) (*Server, error) {
	if opts.Conn == nil {
		return nil, errors.New("server: no cluster connection")
	}
	if opts.Store == nil {
		return nil, errors.New("server: no store")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 10 * opts.Debounce
	}
	if opts.ProbeInterval == 0 {
		opts.ProbeInterval = DefaultProbeInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Exceptions == nil {
		opts.Exceptions, _ = opts.Store.(store.ExceptionStore)
	}
	s := &Server{opts: opts, log: opts.Logger, dirty: make(chan struct{}, 1), reachable: true}
	s.metrics = newMetrics(func() float64 {
		at := s.lastEventAt.Load()
		if at == 0 {
			return -1
		}
		return time.Since(time.Unix(0, at)).Seconds()
	})
	s.metrics.reachable.Set(1)
	for _, c := range opts.Collectors {
		if err := s.metrics.registry.Register(c); err != nil {
			return nil, fmt.Errorf("server: metrics: %w", err)
		}
	}
	var w *cluster.Watch
	var err error
	if opts.clients != nil {
		w, err = cluster.NewWatchWith(opts.Conn, *opts.clients, cluster.Options{Namespace: opts.Namespace}, s)
	} else {
		// Every request to the API server goes through observed, which tells whether it answers.
		conn := *opts.Conn
		conn.Config = rest.CopyConfig(opts.Conn.Config)
		conn.Config.Wrap(func(rt http.RoundTripper) http.RoundTripper { return observed{rt, s} })
		s.opts.Conn = &conn
		w, err = cluster.NewWatch(&conn, cluster.Options{Namespace: opts.Namespace}, s)
	}
	if err != nil {
		return nil, err
	}
	s.watch = w
	return s, nil
}

// Changed implements cluster.WatchHandler: note the change and wake the loop.
func (s *Server) Changed(resource string) {
	now := time.Now().UnixNano()
	s.events.Add(1)
	s.lastEventAt.Store(now)
	s.pendingSince.CompareAndSwap(0, now)
	s.metrics.watchEvents.WithLabelValues(resource).Inc()
	s.metrics.lastEvent.Set(float64(now) / 1e9)
	s.markDirty()
}

// WatchError implements cluster.WatchHandler: a list or watch failed (forbidden, say); the
// informer retries by itself. Whether the API server answers at all is observed on the
// transport.
func (s *Server) WatchError(resource string, err error) {
	s.metrics.watchErrors.WithLabelValues(resource).Inc()
	s.log.Warn("watch failed; the informer retries", "resource", resource, "error", err.Error())
}

func (s *Server) markDirty() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// Current returns the last stored audit, or nil before the first.
func (s *Server) Current() *Current { return s.current.Load() }

// Stats returns the loop's counters.
func (s *Server) Stats() Stats {
	return Stats{Audits: s.audits.Load(), Events: s.events.Load(),
		Pending: s.pendingSince.Load() != 0 || len(s.dirty) > 0 || s.auditing.Load()}
}

// MountAPI sets the handler served under /api/v1/ (before Handler is called): the API needs
// the server's Exceptions, so it is made after the server.
func (s *Server) MountAPI(h http.Handler) { s.opts.API = h }

// Handler serves /healthz, /readyz, /metrics and, when set, the API under /api/v1/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn), MaxRequestsInFlight: 4}))
	if s.opts.API != nil {
		mux.Handle("/api/v1/", s.opts.API)
	}
	for pattern, h := range s.opts.Handlers {
		mux.Handle(pattern, h)
	}
	return s.logRequests(mux)
}

// Run watches the cluster and audits it until ctx ends. It returns nil on a clean stop, or the
// reason the watch could not start.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.log.Info("watching the cluster", "context", s.opts.Conn.Context, "server", s.opts.Conn.Server,
		"namespace", s.opts.Namespace, "resources", len(s.watch.Resources()), "debounce", s.opts.Debounce.String())
	var wg sync.WaitGroup
	wg.Go(func() { s.watch.Run(ctx) })
	s.refreshVersion(ctx)
	err := s.loop(ctx)
	cancel()
	wg.Wait()
	s.log.Info("stopped watching")
	return err
}

// loop waits for the first sync, audits, then re-audits after each batch of changes.
func (s *Server) loop(ctx context.Context) error {
	started := time.Now()
	if err := s.watch.WaitForSync(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.log.Info("informers synced", "took", time.Since(started).String(), "events", s.events.Load())
	// The initial lists count as changes; the first audit covers them.
	for len(s.dirty) > 0 {
		<-s.dirty
	}
	s.auditOnce(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.dirty:
		}
		if !s.settle(ctx) {
			return nil
		}
		s.auditOnce(ctx)
	}
}

// settle waits until no change has arrived for the debounce time, or MaxDelay has passed since
// the first change of the batch. It reports false when ctx ended.
func (s *Server) settle(ctx context.Context) bool {
	first := time.Now()
	if at := s.pendingSince.Load(); at != 0 {
		first = time.Unix(0, at)
	}
	hard := first.Add(s.opts.MaxDelay)
	next := func() time.Duration {
		return max(0, min(time.Until(hard), s.opts.Debounce))
	}
	timer := time.NewTimer(next())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-s.dirty:
			timer.Reset(next())
		case <-timer.C:
			return true
		}
	}
}

// auditOnce builds the snapshot, audits it and stores the audit. A failure is logged, counted
// and retried after a pause; the last stored state keeps being served meanwhile.
func (s *Server) auditOnce(ctx context.Context) {
	s.auditing.Store(true)
	defer s.auditing.Store(false)
	pending := s.pendingSince.Swap(0)
	began := time.Now()
	s.refreshVersion(ctx)
	s.mu.Lock()
	version := s.version
	s.mu.Unlock()

	snap := s.watch.Snapshot(version)
	s.observe(ctx, snap)
	built := time.Now()
	s.metrics.auditDuration.WithLabelValues("snapshot").Observe(built.Sub(began).Seconds())

	opts := s.opts.Audit
	opts.Now = began
	if err := s.addStoredExceptions(ctx, &opts); err != nil {
		s.metrics.storeErrors.WithLabelValues("read_exceptions").Inc()
		s.fail(ctx, "store", pending, err)
		return
	}
	res, err := audit.Run(ctx, snap, opts)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.fail(ctx, "audit", pending, fmt.Errorf("audit: %w", err))
		return
	}
	audited := time.Now()
	s.metrics.auditDuration.WithLabelValues("audit").Observe(audited.Sub(built).Seconds())

	note := fmt.Sprintf("audit %d of this process: %d workloads, %d objects", s.audits.Load()+1, len(snap.Workloads), objectCount(snap))
	// The write is not cut short by a shutdown: it is one transaction, and finishing it keeps
	// the audit that was already computed.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	change, err := s.opts.Store.RecordScan(wctx, store.ScopeCluster, began, audited, res.Findings, note)
	cancel()
	if err != nil {
		s.metrics.storeErrors.WithLabelValues("record_scan").Inc()
		s.fail(ctx, "store", pending, fmt.Errorf("storing the audit: %w", err))
		return
	}
	stored := time.Now()
	s.metrics.auditDuration.WithLabelValues("store").Observe(stored.Sub(audited).Seconds())
	s.metrics.auditDuration.WithLabelValues("total").Observe(stored.Sub(began).Seconds())
	if pending != 0 {
		s.metrics.watchLag.Observe(stored.Sub(time.Unix(0, pending)).Seconds())
	}
	s.metrics.audits.Inc()
	s.metrics.lastAudit.Set(unix(stored))
	s.metrics.observeFindings(res.Findings)
	s.observeSnapshot(snap)
	n := s.audits.Add(1)
	s.current.Store(&Current{Version: n, Snapshot: snap, Result: res, Scan: change.Scan})
	s.mu.Lock()
	s.lastError = ""
	s.mu.Unlock()
	if s.opts.OnAudit != nil {
		s.opts.OnAudit(ctx, s.current.Load())
	}
	s.log.Info("audit stored", "scan", change.Scan.ID, "findings", len(res.Findings), "new", len(change.New),
		"reopened", len(change.Reopened), "resolved", len(change.Resolved), "workloads", len(snap.Workloads),
		"took", stored.Sub(began).String())
}

// addStoredExceptions appends the exceptions added through the API to the policy's. A failure
// to read them fails the audit: auditing without them would unsuppress findings for a moment.
func (s *Server) addStoredExceptions(ctx context.Context, opts *audit.Options) error {
	if s.opts.Exceptions == nil {
		return nil
	}
	stored, err := s.opts.Exceptions.Exceptions(ctx)
	if err != nil {
		return fmt.Errorf("reading the exceptions added through the API: %w", err)
	}
	if len(stored) == 0 {
		return nil
	}
	cfg := config.Default()
	if opts.Config != nil {
		c := *opts.Config
		cfg = &c
	}
	cfg.Exceptions = slices.Clone(cfg.Exceptions)
	for _, e := range stored {
		cfg.Exceptions = append(cfg.Exceptions, e.Exception)
	}
	opts.Config = cfg
	return nil
}

// Exceptions returns the exception store to give the API: adding an exception through it
// re-audits, so the exception shows in the stored findings within one debounce.
func (s *Server) Exceptions() store.ExceptionStore {
	if s.opts.Exceptions == nil {
		return nil
	}
	return reauditingExceptions{s.opts.Exceptions, s}
}

type reauditingExceptions struct {
	store.ExceptionStore
	s *Server
}

func (r reauditingExceptions) AddException(ctx context.Context, e store.StoredException) (*store.StoredException, error) {
	out, err := r.ExceptionStore.AddException(ctx, e)
	if err == nil {
		r.s.pendingSince.CompareAndSwap(0, time.Now().UnixNano())
		r.s.markDirty()
	}
	return out, err
}

// fail records a failed audit and schedules another attempt.
func (s *Server) fail(ctx context.Context, stage string, pending int64, err error) {
	s.metrics.auditErrors.WithLabelValues(stage).Inc()
	s.mu.Lock()
	s.lastError = err.Error()
	s.mu.Unlock()
	s.log.Error("audit failed; retrying", "stage", stage, "error", err.Error())
	if pending != 0 {
		s.pendingSince.CompareAndSwap(0, pending)
	} else {
		s.pendingSince.CompareAndSwap(0, time.Now().UnixNano())
	}
	retry := time.AfterFunc(5*time.Second, s.markDirty)
	context.AfterFunc(ctx, func() { retry.Stop() })
}

// observe adds the live observations (anonymous probe, configz) to the snapshot, read again
// when they are older than ProbeInterval.
func (s *Server) observe(ctx context.Context, snap *inventory.Snapshot) {
	if s.opts.Observe == nil || s.opts.ProbeInterval < 0 {
		return
	}
	s.mu.Lock()
	probed, at := s.probed, s.probedAt
	s.mu.Unlock()
	if probed == nil || time.Since(at) >= s.opts.ProbeInterval {
		fresh := &inventory.Snapshot{Nodes: snap.Nodes}
		s.opts.Observe(ctx, fresh)
		probed = fresh
		s.mu.Lock()
		s.probed, s.probedAt = fresh, time.Now()
		s.mu.Unlock()
	}
	snap.AnonymousProbe = probed.AnonymousProbe
	snap.Components = append(snap.Components, probed.Components...)
}

func (s *Server) observeSnapshot(snap *inventory.Snapshot) {
	set := func(kind string, n int) { s.metrics.snapshotObject.WithLabelValues(kind).Set(float64(n)) }
	set("workloads", len(snap.Workloads))
	set("pods", len(snap.Pods))
	set("services", len(snap.Services))
	set("networkpolicies", len(snap.NetworkPolicies))
	set("namespaces", len(snap.Namespaces))
	set("nodes", len(snap.Nodes))
	set("secrets", len(snap.Secrets))
	set("configmaps", len(snap.ConfigMaps))
	set("serviceaccounts", len(snap.ServiceAccounts))
	set("rbac", len(snap.Roles)+len(snap.ClusterRoles)+len(snap.RoleBindings)+len(snap.ClusterRoleBindings))
	set("images", len(snap.Images))
}

func objectCount(s *inventory.Snapshot) int {
	return len(s.Namespaces) + len(s.Workloads) + len(s.Pods) + len(s.Services) + len(s.EndpointSlices) +
		len(s.Ingresses) + len(s.NetworkPolicies) + len(s.AdminNetworkPolicies) + len(s.BaselineAdminNetworkPolicies) +
		len(s.ServiceAccounts) + len(s.Roles) + len(s.ClusterRoles) + len(s.RoleBindings) + len(s.ClusterRoleBindings) +
		len(s.Nodes) + len(s.Secrets) + len(s.ConfigMaps) + len(s.Others)
}
