// Package api is the HTTP API of `redoubt serve`, under /api/v1/: stored findings with their
// history, the workloads they are about, scans, image inventories with their vulnerabilities,
// and exceptions added through it. Every request but the OpenAPI document carries a Kubernetes
// bearer token; the token is checked with a TokenReview and each request is authorized with a
// SubjectAccessReview on a virtual resource of group redoubt.dev, so cluster RBAC decides who
// may read and who may add exceptions. docs/api.md documents it; openapi.json describes it and
// a test keeps the two in step.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// Prefix is the path every endpoint is under.
const Prefix = "/api/v1/"

// Limits the API enforces.
const (
	// DefaultMaxBodyBytes bounds a request body.
	DefaultMaxBodyBytes = 1 << 20
	// MaxPageSize is the largest page a list returns; DefaultPageSize the page without ?limit.
	MaxPageSize     = 1000
	DefaultPageSize = 100
	// DefaultTimeout bounds the work of one request.
	DefaultTimeout = 30 * time.Second
)

// Options configure the API.
type Options struct {
	// Store is where findings, scans and images are read. Required.
	Store store.Store
	// Exceptions keeps exceptions added through the API; nil means Store, if it implements
	// store.ExceptionStore. Without either, the exception endpoints answer 501.
	Exceptions store.ExceptionStore
	// Authenticator and Authorizer check every request; both are required (NewKubernetes
	// returns one value that is both).
	Authenticator Authenticator
	Authorizer    Authorizer
	// Logger receives one line per request and every server-side error; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Timeout bounds the work of one request (default DefaultTimeout).
	Timeout time.Duration
	// KnownCheck says whether a check ID exists, to refuse ?check= values that cannot match;
	// nil means the finding registry (finding.Lookup).
	KnownCheck func(id string) bool
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// handler serves the API.
type handler struct {
	opts Options
	mux  *http.ServeMux
	log  *slog.Logger
}

// route is one endpoint: a path pattern (net/http ServeMux syntax) and its handler per method.
type route struct {
	path    string
	methods map[string]endpoint
}

// endpoint handles one method of one path. It returns the value to write as JSON with the
// status, or an error (an *apiError for the caller's mistakes; anything else is a 500).
type endpoint func(r *request) (status int, body any, err error)

// New returns the API handler. It serves everything under Prefix and nothing else: mount it at
// "/api/v1/" (or at "/", for a server that serves only the API). It panics without a Store, an
// Authenticator and an Authorizer: an API without them is a programming error, not a mode.
func New(opts Options) http.Handler {
	if opts.Store == nil {
		panic("api.New: Options.Store is required")
	}
	if opts.Authenticator == nil || opts.Authorizer == nil {
		panic("api.New: Options.Authenticator and Options.Authorizer are required (api.NewKubernetes returns both)")
	}
	if opts.Exceptions == nil {
		opts.Exceptions, _ = opts.Store.(store.ExceptionStore)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.KnownCheck == nil {
		opts.KnownCheck = func(id string) bool { _, ok := finding.Lookup(id); return ok }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &handler{opts: opts, mux: http.NewServeMux(), log: opts.Logger}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.path, h.serve(rt))
	}
	h.mux.Handle(Prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no endpoint %s; see %sopenapi.json", r.URL.Path, Prefix)})
	}))
	return h
}

// routes is every endpoint the API serves. openapi.json must describe exactly these (a test
// checks it).
func (h *handler) routes() []route {
	return []route{
		{Prefix + "openapi.json", map[string]endpoint{http.MethodGet: nil}}, // served raw, without auth
		{Prefix + "findings", map[string]endpoint{http.MethodGet: h.listFindings}},
		{Prefix + "findings/{id}", map[string]endpoint{http.MethodGet: h.getFinding}},
		{Prefix + "findings/{id}/history", map[string]endpoint{http.MethodGet: h.findingHistory}},
		{Prefix + "workloads", map[string]endpoint{http.MethodGet: h.listWorkloads}},
		{Prefix + "scans", map[string]endpoint{http.MethodGet: h.listScans}},
		{Prefix + "images", map[string]endpoint{http.MethodGet: h.listImages}},
		{Prefix + "images/{digest}", map[string]endpoint{http.MethodGet: h.getImage}},
		{Prefix + "exceptions", map[string]endpoint{http.MethodGet: h.listExceptions, http.MethodPost: h.addException}},
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// request is one authenticated request.
type request struct {
	*http.Request
	user *User
	h    *handler
}

// authorize asks the authorizer, and turns a denial into a 403 that says what was missing.
func (r *request) authorize(a Attributes) error {
	ok, reason, err := r.h.opts.Authorizer.Authorize(r.Context(), r.user, a)
	if err != nil {
		return &apiError{status: http.StatusServiceUnavailable, msg: "cannot check permissions with the Kubernetes API server; try again", cause: err}
	}
	if !ok {
		msg := fmt.Sprintf("user %q may not %s", r.user.Name, a)
		if reason != "" {
			msg += ": " + reason
		}
		return &apiError{status: http.StatusForbidden, msg: msg}
	}
	return nil
}

// apiError is an error the caller can act on, with the status it is answered with.
type apiError struct {
	status int
	msg    string
	cause  error // logged, never shown: it may say more about the server than a caller should know
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// serve runs an endpoint: method dispatch, authentication, limits, the JSON answer and the log.
func (h *handler) serve(rt route) http.Handler {
	allow := make([]string, 0, len(rt.methods))
	for m := range rt.methods {
		allow = append(allow, m)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ep, ok := rt.methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			ep, ok = rt.methods[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			h.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, msg: fmt.Sprintf("%s does not accept %s (it accepts %s)", r.URL.Path, r.Method, strings.Join(allow, ", "))})
			return
		}
		if ep == nil { // the OpenAPI document
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(openAPIDocument)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)

		user, err := h.authenticate(r)
		if err != nil {
			if ae := (*apiError)(nil); errors.As(err, &ae) && ae.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="redoubt"`)
			}
			h.writeError(w, r, err)
			h.logRequest(r, nil, statusOf(err), start)
			return
		}
		status, body, err := ep(&request{Request: r, user: user, h: h})
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			h.writeError(w, r, err)
			h.logRequest(r, user, statusOf(err), start)
			return
		}
		writeJSON(w, status, body)
		h.logRequest(r, user, status, start)
	})
}

// authenticate reads the bearer token and asks the authenticator who it is.
func (h *handler) authenticate(r *http.Request) (*User, error) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, &apiError{status: http.StatusUnauthorized, msg: "no bearer token: send Authorization: Bearer <Kubernetes token>"}
	}
	scheme, token, _ := strings.Cut(authz, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, &apiError{status: http.StatusUnauthorized, msg: "the Authorization header is not a bearer token: send Authorization: Bearer <Kubernetes token>"}
	}
	u, err := h.opts.Authenticator.Authenticate(r.Context(), token)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return nil, &apiError{status: http.StatusUnauthorized, msg: "the bearer token was not accepted by the Kubernetes API server", cause: err}
	case err != nil:
		return nil, &apiError{status: http.StatusServiceUnavailable, msg: "cannot check the token with the Kubernetes API server; try again", cause: err}
	case u == nil || u.Name == "":
		return nil, &apiError{status: http.StatusUnauthorized, msg: "the bearer token names no user"}
	}
	return u, nil
}

func statusOf(err error) int {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return 499 // the client went away; nobody reads the answer
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// writeError answers with {"error": "..."}. Server-side errors are logged whole and answered
// without their detail.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		msg = ae.msg
		if ae.cause != nil && status >= 500 {
			h.log.Error("api: dependency failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", ae.cause)
		}
	case errors.As(err, &mbe):
		msg = fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("the request took longer than %s; narrow it with filters or a smaller limit", h.opts.Timeout)
	case status == http.StatusInternalServerError:
		h.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		msg = "internal error; the server log has the detail"
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":"internal error: the answer could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func (h *handler) logRequest(r *http.Request, u *User, status int, start time.Time) {
	user := ""
	if u != nil {
		user = u.Name
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(r.Context(), level, "api request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("user", user), slog.Duration("duration", time.Since(start)))
}
