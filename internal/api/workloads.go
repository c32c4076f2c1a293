package api

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// Workload is one workload (or other object) as the open findings about it describe it.
type Workload struct {
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// Counts are its open findings that no exception suppresses, by severity name; Total their
	// sum; Suppressed the open findings an exception suppresses.
	Counts     map[string]int `json:"counts"`
	Total      int            `json:"total"`
	Suppressed int            `json:"suppressed"`
	// Highest is the severity of its most severe counted finding ("" when none counts).
	Highest string `json:"highest,omitempty"`
	// Images are the images its findings name (its build-phase inventory is at /images/{digest}).
	Images   []WorkloadImage `json:"images,omitempty"`
	LastSeen time.Time       `json:"lastSeen"`

	highest finding.Severity
}

// WorkloadImage is an image a workload runs, as its findings name it.
type WorkloadImage struct {
	Image  string `json:"image,omitempty"`
	Digest string `json:"digest,omitempty"`
}

var workloadParams = []string{"namespace", "phase", "limit", "cursor"}

// listWorkloads serves GET /api/v1/workloads: every object with open findings, the most severe
// first, with its findings counted by severity. It is derived from the findings, so it needs
// list on findings (in the namespace filtered by, or in all namespaces).
func (h *handler) listWorkloads(r *request) (int, any, error) {
	p, err := readParams(r.URL, workloadParams...)
	if err != nil {
		return 0, nil, err
	}
	q := store.Query{State: string(store.StateOpen), Limit: MaxPageSize}
	if q.Namespace, err = p.namespace(); err != nil {
		return 0, nil, err
	}
	for _, v := range p.list("phase") {
		ph := finding.Phase(v)
		if !slices.Contains(phases, ph) {
			return 0, nil, badRequest("parameter \"phase\": unknown phase %q (want infra, build, deploy or runtime)", v)
		}
		q.Phase = append(q.Phase, ph)
	}
	limit, cursor, err := p.page()
	if err != nil {
		return 0, nil, err
	}
	if err := r.authorize(Attributes{Verb: "list", Resource: ResourceFindings, Namespace: q.Namespace}); err != nil {
		return 0, nil, err
	}

	byKey := map[finding.Resource]*Workload{}
	for {
		recs, next, err := h.opts.Store.Findings(r.Context(), q)
		if err != nil {
			return 0, nil, storeError(err, "listing findings for workloads")
		}
		for i := range recs {
			addToWorkload(byKey, &recs[i])
		}
		if next == "" {
			break
		}
		if err := r.Context().Err(); err != nil {
			return 0, nil, err
		}
		q.After = next
	}
	all := make([]*Workload, 0, len(byKey))
	for _, w := range byKey {
		all = append(all, w)
	}
	slices.SortFunc(all, func(a, b *Workload) int {
		if a.Total > 0 != (b.Total > 0) {
			if a.Total > 0 {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.highest, a.highest); c != 0 {
			return c
		}
		for _, s := range finding.Severities() {
			if c := cmp.Compare(b.Counts[s.String()], a.Counts[s.String()]); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	off, err := cursorOffset(cursor, len(all))
	if err != nil {
		return 0, nil, err
	}
	end := min(off+limit, len(all))
	page := make([]Workload, 0, end-off)
	for _, w := range all[off:end] {
		page = append(page, *w)
	}
	return http.StatusOK, Page[Workload]{Items: page, NextCursor: offsetCursor(end, len(all))}, nil
}

func addToWorkload(byKey map[finding.Resource]*Workload, rec *store.Record) {
	f := &rec.Finding
	if f.Resource.Name == "" {
		return // about no object (the policy file, the cluster as a whole)
	}
	key := f.Resource.Workload()
	w := byKey[key]
	if w == nil {
		w = &Workload{Cluster: key.Cluster, Namespace: key.Namespace, Kind: key.Kind, Name: key.Name, Counts: map[string]int{}}
		for _, s := range finding.Severities() {
			w.Counts[s.String()] = 0
		}
		byKey[key] = w
	}
	if rec.LastSeen.After(w.LastSeen) {
		w.LastSeen = rec.LastSeen
	}
	if f.Location.Image != "" || f.Location.Digest != "" {
		img := WorkloadImage{Image: f.Location.Image, Digest: f.Location.Digest}
		if !slices.Contains(w.Images, img) {
			w.Images = append(w.Images, img)
			slices.SortFunc(w.Images, func(a, b WorkloadImage) int {
				return cmp.Or(cmp.Compare(a.Image, b.Image), cmp.Compare(a.Digest, b.Digest))
			})
		}
	}
	if f.Suppressed != nil {
		w.Suppressed++
		return
	}
	w.Counts[f.Severity.String()]++
	if w.Total == 0 || f.Severity > w.highest {
		w.highest = f.Severity
		w.Highest = f.Severity.String()
	}
	w.Total++
}
