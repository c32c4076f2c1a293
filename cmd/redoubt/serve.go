package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"redoubt.dev/redoubt/internal/api"
	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/auditlog"
	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/inventory/probe"
	"redoubt.dev/redoubt/internal/notify"
	"redoubt.dev/redoubt/internal/server"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/engine"
	"redoubt.dev/redoubt/internal/store/sqlite"
)

type serveFlags struct {
	kubeconfig, context, namespace string
	dataDir, databaseURL           string
	listen, tlsCert, tlsKey        string
	debounce, maxDelay             time.Duration
	probeInterval, shutdownTimeout time.Duration
	configFile, pssLevel           string
	logLevel                       string
	notifications                  string
	auditWebhookToken              string
}

func newServeCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Watch a cluster, keep its audit current and stored, serve health, metrics and the API",
		Long: `Watch a live cluster and keep its audit current.

serve reads the cluster with informers (Secrets and ConfigMaps as metadata
only: their values are never requested), keeps one snapshot current, and
re-audits it after changes with the same analyzers as "redoubt scan": a
finding serve stores is the finding scan reports for the same objects. Changes
are batched: the audit runs once the cluster has been quiet for --debounce
(at most --max-delay after the first change), so a burst of a thousand changes
is one audit. Nothing runs while the cluster is quiet.

Every audit is stored with history (first seen, last seen, resolved) in one
SQLite file under --data-dir (or PostgreSQL with --database-url).

Endpoints on --listen:
  /healthz   the process is alive
  /readyz    ready once the first audit is stored; the detail lists what is
             not (informers, API server reachable, last audit)
  /metrics   Prometheus metrics (findings by phase and severity, audit
             duration, watch lag, store errors, API server reachable)
  /api/v1/   the findings API: bearer tokens checked with TokenReview,
             access with SubjectAccessReview, on the same API server

If the API server goes away, serve keeps serving the last state, says so in
/readyz and in redoubt_apiserver_reachable, and resumes when it returns.
Logs are JSON lines on standard error. SIGTERM stops it gracefully.

Without --kubeconfig, serve uses $KUBECONFIG, ~/.kube/config, then the
in-cluster service account (running as a Deployment).`,
		Example: `  # Watch the cluster of a kubeconfig, store under ./redoubt-data
  redoubt serve --kubeconfig ~/.kube/config --data-dir ./redoubt-data

  # In a cluster (service account), TLS on :8443, a policy file
  redoubt serve --data-dir /var/lib/redoubt \
    --tls-cert-file /tls/tls.crt --tls-private-key-file /tls/tls.key \
    --config /etc/redoubt/redoubt.yaml

  # Then
  curl -s localhost:8443/readyz
  curl -s localhost:8443/metrics | grep redoubt_findings`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster to watch (default $KUBECONFIG, then ~/.kube/config, then in-cluster)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use (default the current context)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "watch only this namespace (cluster-scoped objects are always read)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory of the embedded store ("+sqlite.FileName+"); created if missing")
	fl.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL store instead of --data-dir: postgres://USER@HOST/DB")
	fl.StringVar(&f.listen, "listen", ":8443", "address of the HTTP(S) endpoints")
	fl.StringVar(&f.tlsCert, "tls-cert-file", "", "serve HTTPS with this certificate (PEM); plain HTTP without it")
	fl.StringVar(&f.tlsKey, "tls-private-key-file", "", "the private key of --tls-cert-file (PEM)")
	fl.DurationVar(&f.debounce, "debounce", server.DefaultDebounce, "quiet time after a change before the cluster is re-audited")
	fl.DurationVar(&f.maxDelay, "max-delay", 0, "longest a change waits for its audit under continuous churn (default 10 x --debounce)")
	fl.DurationVar(&f.probeInterval, "probe-interval", server.DefaultProbeInterval, "how often the anonymous-access probe and the kubelets' configz are read again; 0 never")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long in-flight requests may take to finish")
	fl.StringVar(&f.configFile, "config", "", "policy file with exceptions and settings (.redoubt.yaml format)")
	fl.StringVar(&f.pssLevel, "pss-level", "", "Pod Security Standards level reported: baseline or restricted (default restricted, or the policy file's)")
	fl.StringVar(&f.logLevel, "log-level", "info", "least severe log level written: debug, info, warn or error")
	fl.StringVar(&f.auditWebhookToken, "audit-webhook-token-file", "", "accept the API server's audit webhook backend at POST /audit/v1/events, from callers that send this file's token as a bearer token (docs/auditlog.md)")
	fl.StringVar(&f.notifications, "notifications", "", "YAML file whose notifications: section names the receivers (JSON webhook, Slack) of new and resolved findings (docs/notifications.md)")
	return cmd
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageError("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	switch {
	case f.dataDir == "" && f.databaseURL == "":
		return usageError("give --data-dir DIR (embedded SQLite store) or --database-url postgres://... (PostgreSQL)")
	case f.dataDir != "" && f.databaseURL != "":
		return usageError("give either --data-dir or --database-url, not both")
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return usageError("--tls-cert-file and --tls-private-key-file go together")
	case f.debounce <= 0:
		return usageError("--debounce %s: want a positive duration such as 2s", f.debounce)
	case f.maxDelay < 0 || (f.maxDelay > 0 && f.maxDelay < f.debounce):
		return usageError("--max-delay %s: want a duration no shorter than --debounce (%s)", f.maxDelay, f.debounce)
	case f.pssLevel != "" && f.pssLevel != "baseline" && f.pssLevel != "restricted":
		return usageError("--pss-level %q: want baseline or restricted", f.pssLevel)
	}
	if f.probeInterval == 0 {
		f.probeInterval = -1 // the flag's 0 means never; Options' 0 means the default
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	// client-go logs (reflector warnings during an outage) through klog; send them to the same
	// JSON log rather than klog's own format on stderr.
	klog.SetSlogLogger(log.With("component", "client-go"))
	cfg, err := loadConfig(f.configFile, nil)
	if err != nil {
		return err
	}
	conn, err := cluster.Connect(cluster.Target{Kubeconfig: f.kubeconfig, Context: f.context, Namespace: f.namespace})
	if err != nil {
		return &exitError{code: exitInput, err: err}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usageError("--listen %s: %v", f.listen, err)
	}
	defer ln.Close()

	ctx := cmd.Context()
	st, err := openStore(ctx, f)
	if err != nil {
		return &exitError{code: exitInput, err: err}
	}
	defer st.Close()

	// Notifications are written to the store's outbox in the same transaction as each audit; the
	// dispatcher sends them on its own, so a slow receiver never holds the audit loop.
	var dispatcher *notify.Dispatcher
	if f.notifications != "" {
		if dispatcher, err = newDispatcher(ctx, f.notifications, st, log); err != nil {
			return &exitError{code: exitInput, err: err}
		}
	}

	kube, err := kubernetes.NewForConfig(conn.Config)
	if err != nil {
		return &exitError{code: exitInput, err: fmt.Errorf("cluster context %q: %w", conn.Context, err)}
	}
	sopts := server.Options{
		Conn: conn, Namespace: f.namespace, Store: st,
		Audit:    audit.Options{Config: cfg, PSSLevel: f.pssLevel, Releases: releaseCalendar(cmd)},
		Debounce: f.debounce, MaxDelay: f.maxDelay, ProbeInterval: f.probeInterval,
		Observe: func(ctx context.Context, snap *inventory.Snapshot) { probe.Observe(ctx, conn.Config, snap) },
		Logger:  log,
	}
	if f.auditWebhookToken != "" {
		h, err := auditWebhook(f.auditWebhookToken, cfg, conn.Cluster, st, dispatcher, log)
		if err != nil {
			return &exitError{code: exitInput, err: err}
		}
		sopts.Handlers = map[string]http.Handler{"POST /audit/v1/events": h}
	}
	if dispatcher != nil {
		sopts.Collectors = dispatcher.Collectors()
		sopts.OnAudit = func(context.Context, *server.Current) { dispatcher.Wake() }
	}
	srv, err := server.New(sopts)
	if err != nil {
		return &exitError{code: exitInput, err: err}
	}
	// The API authenticates bearer tokens with TokenReview and authorizes with
	// SubjectAccessReview, through the same API server, as the identity serve runs as.
	auth := api.NewKubernetes(kube, api.KubernetesOptions{})
	srv.MountAPI(api.New(api.Options{Store: st, Exceptions: srv.Exceptions(),
		Authenticator: auth, Authorizer: auth, Logger: log}))
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	} else {
		log.Warn("serving plain HTTP: bearer tokens sent to the API would cross the network in clear; give --tls-cert-file and --tls-private-key-file")
	}
	log.Info("listening", "address", ln.Addr().String(), "scheme", scheme)
	httpDone := make(chan error, 1)
	go func() {
		var err error
		if f.tlsCert != "" {
			err = hs.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		httpDone <- err
	}()

	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	loopDone := make(chan error, 1)
	go func() { loopDone <- srv.Run(loopCtx) }()
	notifyDone := make(chan struct{})
	if dispatcher != nil {
		go func() { defer close(notifyDone); _ = dispatcher.Run(loopCtx) }()
	} else {
		close(notifyDone)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: signal received")
	case runErr = <-httpDone:
		log.Error("the HTTP server stopped", "error", fmt.Sprint(runErr))
	case runErr = <-loopDone:
		loopDone <- runErr
		log.Error("the watch loop stopped", "error", fmt.Sprint(runErr))
	}
	stopLoop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests cut short at shutdown", "error", err.Error())
	}
	if err := <-loopDone; err != nil && runErr == nil {
		runErr = err
	}
	<-notifyDone
	log.Info("stopped")
	if runErr != nil {
		return &exitError{code: exitInput, err: runErr}
	}
	return nil
}

// openStore opens the store the flags name: PostgreSQL for --database-url, else the SQLite
// file under --data-dir.
func openStore(ctx context.Context, f *serveFlags) (store.Store, error) {
	if f.databaseURL != "" && !strings.HasPrefix(f.databaseURL, "postgres://") && !strings.HasPrefix(f.databaseURL, "postgresql://") {
		return nil, fmt.Errorf("--database-url: want postgres://USER@HOST/DB, got %q", redactURL(f.databaseURL))
	}
	return engine.Open(ctx, f.dataDir, f.databaseURL)
}

// redactURL drops the password from a URL before it is shown.
func redactURL(s string) string {
	if at := strings.LastIndex(s, "@"); at > 0 {
		if scheme := strings.Index(s, "://"); scheme >= 0 && scheme < at {
			return s[:scheme+3] + "…" + s[at:]
		}
	}
	return s
}

// newDispatcher reads the notifications: section of path and starts nothing yet: Run sends.
func newDispatcher(ctx context.Context, path string, st store.Store, log *slog.Logger) (*notify.Dispatcher, error) {
	outbox, ok := st.(store.Outbox)
	if !ok {
		return nil, fmt.Errorf("--notifications: this store keeps no outbox")
	}
	cfg, err := notify.LoadConfig(path)
	if err != nil {
		return nil, fmt.Errorf("--notifications: %w", err)
	}
	receivers, err := cfg.Build(nil)
	if err != nil {
		return nil, fmt.Errorf("--notifications %s: %w", path, err)
	}
	opts := cfg.Options()
	opts.Logger = log.With("component", "notify")
	return notify.NewDispatcher(ctx, outbox, receivers, opts)
}

// auditScope is the store scope of findings from the API server's audit log: event-like, added
// as they arrive and never resolved by absence.
const auditScope store.Scope = "auditlog"

// auditWebhook is the API server's audit webhook backend: each batch goes through the audit-log
// detections, then the policy's exceptions, and what they find is stored (and notified). Only a
// caller holding the token in tokenFile is heard: the API server's webhook kubeconfig sends it.
func auditWebhook(tokenFile string, cfg *config.Config, clusterName string, st store.Store, d *notify.Dispatcher, log *slog.Logger) (http.Handler, error) {
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("--audit-webhook-token-file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < 16 {
		return nil, fmt.Errorf("--audit-webhook-token-file %s: the token is shorter than 16 characters", tokenFile)
	}
	log = log.With("component", "audit-webhook")
	wh := auditlog.NewWebhook(auditlog.Options{Cluster: clusterName}, func(ctx context.Context, fs []finding.Finding) {
		now := time.Now()
		fs = audit.ApplyExceptions(fs, cfg, now, clusterName)
		change, err := st.AddFindings(ctx, auditScope, now, fs)
		if err != nil {
			log.Error("storing audit-log findings", "error", err.Error(), "findings", len(fs))
			return
		}
		log.Info("audit-log findings stored", "findings", len(fs), "new", len(change.New), "reopened", len(change.Reopened))
		if d != nil {
			d.Wake()
		}
	})
	wh.Log = log
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="redoubt audit webhook"`)
			http.Error(w, "the audit webhook wants the bearer token of --audit-webhook-token-file", http.StatusUnauthorized)
			return
		}
		wh.ServeHTTP(w, r)
	}), nil
}
