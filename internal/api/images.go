package api

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// digestPattern is an OCI content digest of the algorithms image digests use.
var digestPattern = regexp.MustCompile(`^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$`)

// ImageSummary is one stored image in the list: what it is and how vulnerable, without the
// inventory itself.
type ImageSummary struct {
	Digest    string    `json:"digest"`
	Refs      []string  `json:"refs"`
	Distro    string    `json:"distro,omitempty"`
	Layers    int       `json:"layers"`
	Packages  int       `json:"packages"`
	ScannedAt time.Time `json:"scannedAt"`
	MatchedAt time.Time `json:"matchedAt"`
	DBVersion string    `json:"dbVersion,omitempty"`
	// Vulnerabilities counts its vulnerability matches by severity name; Fixable those with a fix.
	Vulnerabilities map[string]int `json:"vulnerabilities"`
	Fixable         int            `json:"fixable"`
}

func summarize(img *store.Image) ImageSummary {
	s := ImageSummary{Digest: img.Digest, Refs: img.Refs, ScannedAt: img.ScannedAt, MatchedAt: img.MatchedAt,
		DBVersion: img.DBVersion, Vulnerabilities: map[string]int{}}
	if s.Refs == nil {
		s.Refs = []string{}
	}
	for _, sev := range finding.Severities() {
		s.Vulnerabilities[sev.String()] = 0
	}
	if rep := img.Report; rep != nil {
		s.Layers, s.Packages = len(rep.Layers), len(rep.Packages)
		if rep.Distro != nil {
			s.Distro = strings.TrimSpace(rep.Distro.ID + " " + rep.Distro.VersionID)
		}
		for _, v := range rep.Vulnerabilities {
			s.Vulnerabilities[v.Severity.String()]++
			if v.Fixed != "" {
				s.Fixable++
			}
		}
	}
	return s
}

// listImages serves GET /api/v1/images, ordered by digest; the cursor is the last digest of
// the page before.
func (h *handler) listImages(r *request) (int, any, error) {
	p, err := readParams(r.URL, "limit", "cursor")
	if err != nil {
		return 0, nil, err
	}
	limit, cursor, err := p.page()
	if err != nil {
		return 0, nil, err
	}
	if cursor != "" && !digestPattern.MatchString(cursor) {
		return 0, nil, badRequest("parameter \"cursor\": %q is not a cursor this list returned", cursor)
	}
	if err := r.authorize(Attributes{Verb: "list", Resource: ResourceImages}); err != nil {
		return 0, nil, err
	}
	// The store streams images one at a time; only the summaries after the cursor are kept, and
	// only the first limit+1 of them, so a large store costs one pass and a bounded page.
	var keep []ImageSummary
	err = h.opts.Store.Images(r.Context(), func(img *store.Image) error {
		if img.Digest <= cursor {
			return nil
		}
		keep = append(keep, summarize(img))
		if len(keep) > 2*(limit+1) {
			slices.SortFunc(keep, func(a, b ImageSummary) int { return cmp.Compare(a.Digest, b.Digest) })
			keep = keep[:limit+1]
		}
		return r.Context().Err()
	})
	if err != nil {
		return 0, nil, storeError(err, "listing images")
	}
	slices.SortFunc(keep, func(a, b ImageSummary) int { return cmp.Compare(a.Digest, b.Digest) })
	next := ""
	if len(keep) > limit {
		keep = keep[:limit]
		next = keep[limit-1].Digest
	}
	if keep == nil {
		keep = []ImageSummary{}
	}
	return http.StatusOK, Page[ImageSummary]{Items: keep, NextCursor: next}, nil
}

// ImageDetail is one image: its stored inventory (packages by layer, components, vulnerability
// matches) and the workloads its vulnerability findings are about.
type ImageDetail struct {
	*store.Image
	Summary   ImageSummary       `json:"summary"`
	Workloads []finding.Resource `json:"workloads"`
}

// getImage serves GET /api/v1/images/{digest}.
func (h *handler) getImage(r *request) (int, any, error) {
	digest := r.PathValue("digest")
	if !digestPattern.MatchString(digest) {
		return 0, nil, badRequest("image digest %q: want sha256: and 64 lower-case hexadecimal digits", digest)
	}
	if _, err := readParams(r.URL); err != nil {
		return 0, nil, err
	}
	if err := r.authorize(Attributes{Verb: "get", Resource: ResourceImages, Name: digest}); err != nil {
		return 0, nil, err
	}
	img, err := h.opts.Store.Image(r.Context(), digest)
	if err != nil {
		if statusOf(storeError(err, "")) == http.StatusNotFound {
			return 0, nil, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no image with digest %s is stored", digest)}
		}
		return 0, nil, storeError(err, "reading image "+digest)
	}
	d := ImageDetail{Image: img, Summary: summarize(img), Workloads: []finding.Resource{}}
	seen := map[finding.Resource]bool{}
	// Every open finding about the image, whichever scope stored it (the cluster audit's image
	// analyzer, or the image's own re-matching), names a workload that runs it.
	q := store.Query{Digest: digest, State: string(store.StateOpen), Limit: MaxPageSize}
	for {
		recs, next, err := h.opts.Store.Findings(r.Context(), q)
		if err != nil {
			return 0, nil, storeError(err, "listing the workloads running image "+digest)
		}
		for _, rec := range recs {
			if w := rec.Finding.Resource.Workload(); w.Name != "" && !seen[w] {
				seen[w] = true
				d.Workloads = append(d.Workloads, w)
			}
		}
		if next == "" {
			break
		}
		q.After = next
	}
	slices.SortFunc(d.Workloads, func(a, b finding.Resource) int {
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return http.StatusOK, d, nil
}
