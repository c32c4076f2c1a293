package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
)

var today = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func TestExceptionBody(t *testing.T) {
	e, err := parseException(`{"check": "privileged-container", "resources": [{"namespace": "web", "kind": "Deployment", "name": "api"}],
		"reason": "needs the host network until 2027", "owner": "team-web", "expires": "2027-01-31", "justification": "vulnerable_code_not_in_execute_path"}`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Checks, []string{"privileged-container"}) || len(e.Resources) != 1 || e.Resources[0].Name != "api" ||
		e.Owner != "team-web" || e.Source != "api" || !e.Expires.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("exception = %+v", e)
	}
}

func parseException(body string) (*finding.Exception, error) {
	b, err := decodeException(strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	e, err := b.exception(today)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// TestExceptionBodyRefuses checks that every unusable body is a 400 whose message names the
// field at fault (or says where the JSON breaks).
func TestExceptionBodyRefuses(t *testing.T) {
	valid := `"reason": "r", "owner": "o", "expires": "2027-01-01"`
	tests := []struct{ body, want string }{
		{``, "empty"},
		{`{`, "ends before"},
		{`{"check": "x",}`, "malformed JSON at line 1"},
		{"{\n\"check\": \"x\"\n\"owner\": \"o\"}", "line 3"},
		{`[]`, "want an exception object"},
		{`{"check": 3, ` + valid + `}`, `field "check"`},
		{`{"checks": "privileged-container", ` + valid + `}`, `field "checks"`},
		{`{"resources": [{"namespace": 7}], ` + valid + `}`, `field "resources.namespace"`},
		{`{"chekc": "x", ` + valid + `}`, `unknown field "chekc"`},
		{`{"check": "x", "owner": "o", "expires": "2027-01-01"}`, `field "reason"`},
		{`{"check": "x", "reason": "r", "expires": "2027-01-01"}`, `field "owner"`},
		{`{"check": "x", "reason": "r", "owner": "  "}`, `field "owner"`},
		{`{"check": "x", "reason": "r", "owner": "o"}`, `field "expires"`},
		{`{"check": "x", "reason": "r", "owner": "o", "expires": "31/01/2027"}`, `field "expires"`},
		{`{"check": "x", "reason": "r", "owner": "o", "expires": "2026-12-02"}`, `not after today`},
		{`{"check": "x", "justification": "because", ` + valid + `}`, `field "justification"`},
		{`{` + valid + `}`, "an exception for everything is not allowed"},
		{`{"checks": ["[x"], ` + valid + `}`, `pattern "[x" is malformed`},
		{`{"check": "x", ` + valid + `} {}`, "more than one JSON value"},
		{`{"checks": [` + strings.Repeat(`"a",`, maxPatterns) + `"a"], ` + valid + `}`, `field "checks"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := parseException(tt.body)
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest {
				t.Fatalf("body %s: error %v, want a 400", tt.body, err)
			}
			if !strings.Contains(ae.msg, tt.want) {
				t.Errorf("body %s: error %q does not say %q", tt.body, ae.msg, tt.want)
			}
		})
	}
}

func TestExceptionNamespaces(t *testing.T) {
	tests := []struct {
		body string
		want []string
	}{
		{`{"check": "x"}`, []string{""}},
		{`{"resource": {"namespace": "web", "name": "api"}}`, []string{"web"}},
		{`{"resources": [{"namespace": "web"}, {"namespace": "db"}, {"namespace": "web"}]}`, []string{"db", "web"}},
		{`{"resources": [{"namespace": "web"}, {"name": "api"}]}`, []string{""}},
		{`{"resources": [{"namespace": "team-*"}]}`, []string{""}},
		{`{"resource": {"namespace": "web"}, "resources": [{"namespace": "w?b"}]}`, []string{""}},
	}
	for _, tt := range tests {
		b, err := decodeException(strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if got := exceptionNamespaces(b); !slices.Equal(got, tt.want) {
			t.Errorf("%s: namespaces %q, want %q", tt.body, got, tt.want)
		}
	}
}

// FuzzExceptionBody feeds arbitrary bodies to the decoder and the validation: they must
// return an exception or a 400, never panic, and an accepted exception must be usable.
func FuzzExceptionBody(f *testing.F) {
	f.Add(`{"check": "privileged-container", "reason": "r", "owner": "o", "expires": "2027-01-01"}`)
	f.Add(`{"resources": [{"namespace": "web", "name": "a*"}], "purls": ["pkg:deb/debian/curl@7"], "reason": "r", "owner": "o", "expires": "2027-01-01"}`)
	f.Add(`{"vulnerability": "CVE-2024-1", "images": ["x"], "reason": "r", "owner": "o", "expires": "2030-02-30"}`)
	f.Add(`{"checks": [null], "resource": null}`)
	f.Fuzz(func(t *testing.T, body string) {
		b, err := decodeException(strings.NewReader(body))
		if err != nil {
			if statusOf(err) != http.StatusBadRequest {
				t.Fatalf("decode error %v is not a 400", err)
			}
			return
		}
		_ = exceptionNamespaces(b)
		e, err := b.exception(today)
		if err != nil {
			if statusOf(err) != http.StatusBadRequest {
				t.Fatalf("validation error %v is not a 400", err)
			}
			return
		}
		if err := e.Validate(); err != nil || e.Expired(today) || e.Reason == "" || e.Owner == "" {
			t.Fatalf("accepted an unusable exception %+v: %v", e, err)
		}
	})
}
