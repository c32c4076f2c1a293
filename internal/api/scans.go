package api

import (
	"net/http"

	"redoubt.dev/redoubt/internal/store"
)

// listScans serves GET /api/v1/scans: the newest audits first.
func (h *handler) listScans(r *request) (int, any, error) {
	p, err := readParams(r.URL, "scope", "limit")
	if err != nil {
		return 0, nil, err
	}
	scope, err := p.scope()
	if err != nil {
		return 0, nil, err
	}
	limit, _, err := p.page()
	if err != nil {
		return 0, nil, err
	}
	if err := r.authorize(Attributes{Verb: "list", Resource: ResourceScans}); err != nil {
		return 0, nil, err
	}
	scans, err := h.opts.Store.Scans(r.Context(), scope, limit)
	if err != nil {
		return 0, nil, storeError(err, "listing scans")
	}
	if scans == nil {
		scans = []store.Scan{}
	}
	return http.StatusOK, Page[store.Scan]{Items: scans}, nil
}
