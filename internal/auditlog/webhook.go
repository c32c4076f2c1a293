package auditlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"redoubt.dev/redoubt/internal/finding"
)

// MaxWebhookBody bounds one request of the API server's webhook backend. Its batches default to
// 400 events (--audit-webhook-batch-max-size); 64 MiB leaves room for RequestResponse bodies.
const MaxWebhookBody = 64 << 20

// Webhook serves the API server's audit webhook backend (--audit-webhook-config-file pointing
// at it, batch or blocking mode): each POST carries an audit.k8s.io/v1 EventList. The events go
// through one long-lived Analyzer in arrival order, and after each batch the findings that are
// new or recurred are handed to Found (exceptions not applied: the caller applies its policy
// with audit.ApplyExceptions and stores them). It answers 200 once the batch is analysed, 400
// for a body that is not an EventList, 413 past MaxWebhookBody, 405 for anything but POST.
type Webhook struct {
	// Found receives each batch's new and recurring findings; it runs before the response.
	Found func(ctx context.Context, fs []finding.Finding)
	// Log receives one line per refused request; nil means slog.Default().
	Log *slog.Logger

	mu sync.Mutex
	a  *Analyzer
}

// NewWebhook returns a webhook backend running the detections with opts.
func NewWebhook(opts Options, found func(context.Context, []finding.Finding)) *Webhook {
	return &Webhook{Found: found, a: NewAnalyzer(opts)}
}

func (h *Webhook) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// ServeHTTP analyses one batch.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "the audit webhook accepts POST of an audit.k8s.io/v1 EventList", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.log().Warn("audit webhook: body too large", "limit", MaxWebhookBody, "remote", r.RemoteAddr)
			http.Error(w, fmt.Sprintf("body larger than %d bytes", MaxWebhookBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	events, err := DecodeEventList(body)
	if err != nil {
		h.log().Warn("audit webhook: bad batch", "error", err, "remote", r.RemoteAddr)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	for _, e := range events {
		h.a.Observe(e)
	}
	changed := h.a.TakeChanged()
	h.mu.Unlock()
	if len(changed) > 0 && h.Found != nil {
		h.Found(r.Context(), changed)
	}
	w.WriteHeader(http.StatusOK)
}
