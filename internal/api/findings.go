package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"redoubt.dev/redoubt/internal/store"
)

// Page is one page of a list: its items and the cursor of the next page ("" on the last).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// storeFields maps the Query fields the store names in errors to the API's parameters.
var storeFields = map[string]string{"after": "cursor", "text": "q", "limit": "limit", "phase": "phase",
	"severity": "severity", "state": "state", "workload": "workload", "since": "since", "scope": "scope", "digest": "digest", "namespace": "namespace", "check": "check"}

// findingID is the shape of store.Fingerprint: 32 lower-case hex digits.
var findingID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// listFindings serves GET /api/v1/findings. A caller needs list on findings in the namespace
// it filters by, or in all namespaces when it names none.
func (h *handler) listFindings(r *request) (int, any, error) {
	p, err := readParams(r.URL, findingParams...)
	if err != nil {
		return 0, nil, err
	}
	q, err := h.findingQuery(p)
	if err != nil {
		return 0, nil, err
	}
	if err := r.authorize(Attributes{Verb: "list", Resource: ResourceFindings, Namespace: q.Namespace}); err != nil {
		return 0, nil, err
	}
	recs, next, err := h.opts.Store.Findings(r.Context(), q)
	if err != nil {
		return 0, nil, storeError(err, "listing findings")
	}
	if recs == nil {
		recs = []store.Record{}
	}
	return http.StatusOK, Page[store.Record]{Items: recs, NextCursor: next}, nil
}

// record reads the finding a path names and checks the caller may get it, in its namespace.
// A finding that does not exist is a 404 only for a caller who may get findings in every
// namespace; anyone else gets 403, so IDs cannot be probed.
func (h *handler) record(r *request) (*store.Record, error) {
	id := r.PathValue("id")
	if !findingID.MatchString(id) {
		return nil, badRequest("finding ID %q: want 32 lower-case hexadecimal digits", id)
	}
	if _, err := readParams(r.URL); err != nil {
		return nil, err
	}
	rec, err := h.opts.Store.Finding(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		if err := r.authorize(Attributes{Verb: "get", Resource: ResourceFindings, Name: id}); err != nil {
			return nil, err
		}
		return nil, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no finding has ID %s", id)}
	}
	if err != nil {
		return nil, storeError(err, "reading finding "+id)
	}
	if err := r.authorize(Attributes{Verb: "get", Resource: ResourceFindings, Namespace: rec.Finding.Resource.Namespace, Name: id}); err != nil {
		return nil, err
	}
	return rec, nil
}

// getFinding serves GET /api/v1/findings/{id}.
func (h *handler) getFinding(r *request) (int, any, error) {
	rec, err := h.record(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}

// History is a finding's history: the record and its events, oldest first.
type History struct {
	Finding *store.Record `json:"finding"`
	Events  []store.Event `json:"events"`
}

// findingHistory serves GET /api/v1/findings/{id}/history.
func (h *handler) findingHistory(r *request) (int, any, error) {
	rec, err := h.record(r)
	if err != nil {
		return 0, nil, err
	}
	events, err := h.opts.Store.History(r.Context(), rec.ID)
	if err != nil {
		return 0, nil, storeError(err, "reading the history of finding "+rec.ID)
	}
	if events == nil {
		events = []store.Event{}
	}
	return http.StatusOK, History{Finding: rec, Events: events}, nil
}

// storeError wraps a store failure with what was being done; the log gets it whole. A query
// the store refuses (a cursor it never returned) is the caller's mistake, a 400 naming the
// parameter as the API spells it.
func storeError(err error, doing string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &apiError{status: http.StatusNotFound, msg: doing + ": not found"}
	}
	if errors.Is(err, store.ErrInvalidQuery) {
		msg := err.Error()
		if i := strings.Index(msg, store.ErrInvalidQuery.Error()+": "); i >= 0 {
			msg = msg[i+len(store.ErrInvalidQuery.Error())+2:]
		}
		field, rest, ok := strings.Cut(msg, ": ")
		if ok {
			if p, known := storeFields[field]; known {
				field = p
			}
			msg = fmt.Sprintf("parameter %q: %s", field, rest)
		}
		return &apiError{status: http.StatusBadRequest, msg: msg}
	}
	return fmt.Errorf("store: %s: %w", doing, err)
}
