package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// refreshVersion asks the API server its version; the answer also says it is reachable.
func (s *Server) refreshVersion(ctx context.Context) bool {
	v, err := s.watch.ServerVersion()
	if err == nil {
		s.mu.Lock()
		s.version = v
		s.mu.Unlock()
		s.setReachable()
		return true
	}
	if ctx.Err() == nil {
		s.setUnreachable(err)
	}
	return false
}

func (s *Server) setReachable() {
	s.mu.Lock()
	if s.reachable {
		s.mu.Unlock()
		return
	}
	was := s.reachable
	s.reachable, s.unreachableBy = true, ""
	since := s.unreachableAt
	s.mu.Unlock()
	s.metrics.reachable.Set(1)
	if !was {
		s.log.Info("the API server answers again; the informers resume", "unreachable_for", time.Since(since).Round(time.Millisecond).String())
	}
}

func (s *Server) setUnreachable(err error) {
	s.mu.Lock()
	was := s.reachable
	if was {
		s.unreachableAt = time.Now()
	}
	s.reachable, s.unreachableBy = false, err.Error()
	s.mu.Unlock()
	s.metrics.reachable.Set(0)
	if was {
		s.log.Warn("the API server does not answer; serving the last state", "error", err.Error())
	}
}

// observed wraps the transport of every request to the API server (the informers' lists and
// watches, the version requests): a request that gets no answer marks the API server
// unreachable, any answer (even an error status) reachable. The informers retry failed watches
// by themselves, with backoff, and do not report connection errors to their error handler, so
// this is what notices an outage, and their retries are what notice the end of one: nothing
// extra runs while the watches are healthy.
type observed struct {
	next http.RoundTripper
	s    *Server
}

func (o observed) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	switch {
	case err == nil:
		o.s.setReachable()
	case req.Context().Err() == nil:
		o.s.setUnreachable(fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err))
	}
	return resp, err
}

// readyz is ready once the first audit is stored. The API server being unreachable, or an audit
// failing later, does not make it unready (the last state is still served), but the detail says
// so, line by line, in the style of the API server's own /readyz?verbose.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	ready := true
	line := func(ok bool, name, detail string) {
		mark := "+"
		if !ok {
			mark = "-"
		}
		fmt.Fprintf(&b, "[%s]%s %s\n", mark, name, detail)
	}
	if pending := s.watch.Pending(); len(pending) > 0 {
		line(false, "informers-synced", "waiting for the first list of "+strings.Join(pending, ", "))
	} else {
		line(true, "informers-synced", "ok")
	}
	cur := s.Current()
	if cur == nil {
		ready = false
		line(false, "first-audit-stored", "no audit stored yet")
	} else {
		line(true, "first-audit-stored", fmt.Sprintf("ok: scan %d stored %s, %d findings", cur.Scan.ID,
			cur.Scan.Finished.UTC().Format(time.RFC3339), len(cur.Result.Findings)))
	}
	s.mu.Lock()
	reachable, since, why, lastErr := s.reachable, s.unreachableAt, s.unreachableBy, s.lastError
	s.mu.Unlock()
	if reachable {
		line(true, "apiserver-reachable", "ok")
	} else {
		detail := fmt.Sprintf("unreachable since %s: %s", since.UTC().Format(time.RFC3339), why)
		if cur != nil {
			detail += "; serving the last state, of " + cur.Scan.Finished.UTC().Format(time.RFC3339)
		}
		line(false, "apiserver-reachable", detail)
	}
	if lastErr != "" {
		line(false, "last-audit", "failed, retrying: "+lastErr)
	} else {
		line(true, "last-audit", "ok")
	}
	st := s.Stats()
	if st.Pending {
		line(true, "changes-pending", "yes: a re-audit is due")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if ready {
		b.WriteString("ready\n")
		w.WriteHeader(http.StatusOK)
	} else {
		b.WriteString("not ready\n")
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write([]byte(b.String()))
}

// logRequests logs every request as one JSON line; probes and scrapes at debug level.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rw, r)
		level := slog.LevelInfo
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", rw.status,
			"took", time.Since(start).String(), "remote", r.RemoteAddr)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
