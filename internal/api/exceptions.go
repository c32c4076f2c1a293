package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/vex"
)

// maxPatterns bounds each list of an exception: an exception is written by a person.
const maxPatterns = 100

// ExceptionBody is an exception as POST /api/v1/exceptions takes it: the fields of an
// exception in .redoubt.yaml, in JSON. Reason, owner and expires are required here (a policy
// file may leave expires out; an exception added through the API always ends).
type ExceptionBody struct {
	Check           string             `json:"check,omitempty"`
	Checks          []string           `json:"checks,omitempty"`
	Vulnerability   string             `json:"vulnerability,omitempty"`
	Vulnerabilities []string           `json:"vulnerabilities,omitempty"`
	Resource        *finding.Selector  `json:"resource,omitempty"`
	Resources       []finding.Selector `json:"resources,omitempty"`
	Images          []string           `json:"images,omitempty"`
	Packages        []string           `json:"packages,omitempty"`
	PURLs           []string           `json:"purls,omitempty"`
	Reason          string             `json:"reason"`
	Owner           string             `json:"owner"`
	// Expires is the first day the exception no longer applies, YYYY-MM-DD.
	Expires       string `json:"expires"`
	Justification string `json:"justification,omitempty"`
}

// ExceptionRecord is a stored exception as the API returns it.
type ExceptionRecord struct {
	ID              string             `json:"id"`
	Checks          []string           `json:"checks,omitempty"`
	Vulnerabilities []string           `json:"vulnerabilities,omitempty"`
	Resources       []finding.Selector `json:"resources,omitempty"`
	Images          []string           `json:"images,omitempty"`
	Packages        []string           `json:"packages,omitempty"`
	PURLs           []string           `json:"purls,omitempty"`
	Reason          string             `json:"reason"`
	Owner           string             `json:"owner"`
	Expires         string             `json:"expires,omitempty"`
	Justification   string             `json:"justification,omitempty"`
	CreatedBy       string             `json:"createdBy"`
	CreatedAt       time.Time          `json:"createdAt"`
	// Expired is true from the expiry day on: the exception no longer applies.
	Expired bool `json:"expired"`
}

func exceptionRecord(s *store.StoredException, today time.Time) ExceptionRecord {
	e := &s.Exception
	rec := ExceptionRecord{ID: s.ID, Checks: e.Checks, Vulnerabilities: e.Vulnerabilities, Resources: e.Resources,
		Images: e.Images, Packages: e.Packages, PURLs: e.PURLs, Reason: e.Reason, Owner: e.Owner,
		Justification: e.Justification, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, Expired: e.Expired(today)}
	if !e.Expires.IsZero() {
		rec.Expires = e.Expires.Format(time.DateOnly)
	}
	return rec
}

// exceptionStore returns the store of exceptions, or a 501 when the engine has none.
func (h *handler) exceptionStore() (store.ExceptionStore, error) {
	if h.opts.Exceptions == nil {
		return nil, &apiError{status: http.StatusNotImplemented, msg: "this store keeps no exceptions; add them to .redoubt.yaml instead"}
	}
	return h.opts.Exceptions, nil
}

// listExceptions serves GET /api/v1/exceptions.
func (h *handler) listExceptions(r *request) (int, any, error) {
	if _, err := readParams(r.URL); err != nil {
		return 0, nil, err
	}
	es, err := h.exceptionStore()
	if err != nil {
		return 0, nil, err
	}
	if err := r.authorize(Attributes{Verb: "list", Resource: ResourceExceptions}); err != nil {
		return 0, nil, err
	}
	stored, err := es.Exceptions(r.Context())
	if err != nil {
		return 0, nil, storeError(err, "listing exceptions")
	}
	today := h.opts.Now()
	out := make([]ExceptionRecord, 0, len(stored))
	for i := range stored {
		out = append(out, exceptionRecord(&stored[i], today))
	}
	return http.StatusOK, Page[ExceptionRecord]{Items: out}, nil
}

// addException serves POST /api/v1/exceptions. The caller needs create on exceptions in the
// namespace the exception is confined to (every resource selector names that one namespace,
// without patterns), or in all namespaces for any other exception.
func (h *handler) addException(r *request) (int, any, error) {
	if _, err := readParams(r.URL); err != nil {
		return 0, nil, err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return 0, nil, &apiError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: want application/json", ct)}
	}
	// Authorization needs the body (the namespaces it names), but reading it first must not let
	// an unauthorized caller learn what the validation says: decode, authorize, then validate.
	body, err := decodeException(r.Body)
	if err != nil {
		return 0, nil, err
	}
	for _, ns := range exceptionNamespaces(body) {
		if err := r.authorize(Attributes{Verb: "create", Resource: ResourceExceptions, Namespace: ns}); err != nil {
			return 0, nil, err
		}
	}
	es, err := h.exceptionStore()
	if err != nil {
		return 0, nil, err
	}
	today := h.opts.Now()
	e, err := body.exception(today)
	if err != nil {
		return 0, nil, err
	}
	stored, err := es.AddException(r.Context(), store.StoredException{Exception: e, CreatedBy: r.user.Name, CreatedAt: today.UTC()})
	if err != nil {
		return 0, nil, storeError(err, "adding an exception")
	}
	h.log.Info("api: exception added", "id", stored.ID, "user", r.user.Name, "owner", e.Owner, "expires", body.Expires,
		"checks", e.Checks, "vulnerabilities", e.Vulnerabilities)
	return http.StatusCreated, exceptionRecord(stored, today), nil
}

// decodeException reads one JSON object, refusing unknown fields and trailing data; errors name
// the field at fault.
func decodeException(r io.Reader) (*ExceptionBody, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest("reading the body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badRequest("the body is empty: want a JSON exception with reason, owner and expires")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b ExceptionBody
	if err := dec.Decode(&b); err != nil {
		return nil, jsonError(err, data)
	}
	if dec.More() {
		return nil, badRequest("the body holds more than one JSON value: want one exception object")
	}
	return &b, nil
}

// jsonError says what is wrong with a body in terms of its fields.
func jsonError(err error, data []byte) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return badRequest("malformed JSON at line %d (byte %d): %v", line, se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("the body is a JSON %s: want an exception object", te.Value)
		}
		return badRequest("field %q: got a JSON %s, want %s", te.Field, te.Value, jsonKind(te.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends before the object does")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("unknown field %s (an exception has check(s), vulnerability(-ies), resource(s), images, packages, purls, reason, owner, expires, justification)", name)
	}
	return badRequest("malformed JSON: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "an array"
	case "struct", "ptr":
		return "an object"
	}
	return "a " + k
}

// exceptionNamespaces returns the namespaces an exception is confined to, or [""] (all
// namespaces) when any selector does not name one literal namespace.
func exceptionNamespaces(b *ExceptionBody) []string {
	sels := slices.Clone(b.Resources)
	if b.Resource != nil {
		sels = append(sels, *b.Resource)
	}
	if len(sels) == 0 {
		return []string{""}
	}
	var out []string
	for _, s := range sels {
		if s.Namespace == "" || strings.ContainsAny(s.Namespace, `*?[\`) {
			return []string{""}
		}
		if !slices.Contains(out, s.Namespace) {
			out = append(out, s.Namespace)
		}
	}
	slices.Sort(out)
	return out
}

// exception checks the body and turns it into the one exception model.
func (b *ExceptionBody) exception(today time.Time) (finding.Exception, error) {
	e := finding.Exception{Checks: slices.Clone(b.Checks), Vulnerabilities: slices.Clone(b.Vulnerabilities),
		Resources: slices.Clone(b.Resources), Images: b.Images, Packages: b.Packages, PURLs: b.PURLs,
		Reason: strings.TrimSpace(b.Reason), Owner: strings.TrimSpace(b.Owner), Justification: b.Justification, Source: "api"}
	if b.Check != "" {
		e.Checks = append(e.Checks, b.Check)
	}
	if b.Vulnerability != "" {
		e.Vulnerabilities = append(e.Vulnerabilities, b.Vulnerability)
	}
	if b.Resource != nil {
		e.Resources = append(e.Resources, *b.Resource)
	}
	for name, n := range map[string]int{"checks": len(e.Checks), "vulnerabilities": len(e.Vulnerabilities),
		"resources": len(e.Resources), "images": len(e.Images), "packages": len(e.Packages), "purls": len(e.PURLs)} {
		if n > maxPatterns {
			return e, badRequest("field %q: %d entries, at most %d", name, n, maxPatterns)
		}
	}
	for _, f := range []struct{ name, value string }{{"reason", e.Reason}, {"owner", e.Owner}, {"expires", b.Expires}} {
		if strings.TrimSpace(f.value) == "" {
			return e, badRequest("field %q: required (an exception says why, who owns it, and when it ends)", f.name)
		}
	}
	exp, err := time.Parse(time.DateOnly, b.Expires)
	if err != nil {
		return e, badRequest("field \"expires\": %q: want a date as YYYY-MM-DD", b.Expires)
	}
	e.Expires = exp
	if e.Expired(today) {
		return e, badRequest("field \"expires\": %s is not after today (%s): the exception would never apply", b.Expires, today.UTC().Format(time.DateOnly))
	}
	if b.Justification != "" && !slices.Contains(vex.Justifications, b.Justification) {
		return e, badRequest("field \"justification\": %q: want one of %s", b.Justification, strings.Join(vex.Justifications, ", "))
	}
	if err := e.Validate(); err != nil {
		return e, badRequest("the exception is not usable: %v", err)
	}
	return e, nil
}
