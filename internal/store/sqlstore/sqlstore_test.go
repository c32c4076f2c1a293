package sqlstore

import (
	"errors"
	"slices"
	"testing"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`:              `SELECT 1`,
		`a = ? AND b IN (?, ?)`: `a = $1 AND b IN ($2, $3)`,
		marks(12):               `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12`,
		`LIKE ? ESCAPE '\'`:     `LIKE $1 ESCAPE '\'`,
	} {
		if got := Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("CREATE TABLE a (x int);\nCREATE INDEX i ON a (x);\n\n  ")
	if want := []string{"CREATE TABLE a (x int)", "CREATE INDEX i ON a (x)"}; !slices.Equal(got, want) {
		t.Errorf("splitStatements = %q, want %q", got, want)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	r := &store.Record{ID: "0a1b2c", Finding: finding.Finding{Severity: finding.High}}
	sev, id, err := decodeCursor(encodeCursor(r))
	if err != nil || sev != int64(finding.High) || id != r.ID {
		t.Errorf("decode(encode) = %d, %q, %v", sev, id, err)
	}
	for _, bad := range []string{"", "!!", "Mjo", "eDph"} { // "", not base64, "2:", "x:a"
		if _, _, err := decodeCursor(bad); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("decodeCursor(%q) = %v, want ErrInvalidQuery", bad, err)
		}
	}
}

// FuzzCursor: a cursor comes from an API client, so any string either decodes or is
// ErrInvalidQuery, never a panic, and what decodes is used only as bound parameters.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(&store.Record{ID: "ab", Finding: finding.Finding{Severity: finding.Low}}))
	f.Add("MTo")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, c string) {
		_, id, err := decodeCursor(c)
		if err != nil && !errors.Is(err, store.ErrInvalidQuery) {
			t.Fatalf("decodeCursor(%q): %v is not ErrInvalidQuery", c, err)
		}
		if err == nil && id == "" {
			t.Fatalf("decodeCursor(%q) accepted an empty ID", c)
		}
	})
}

// FuzzQuery: any combination of filter values from the API builds a WHERE clause or an
// ErrInvalidQuery, with as many arguments as placeholders.
func FuzzQuery(f *testing.F) {
	f.Add("deploy", 3, "open", "Deployment/web", "text%_\\", "")
	f.Add("nope", 9, "closed", "/", "", "garbage")
	f.Fuzz(func(t *testing.T, phase string, sev int, state, workload, text, after string) {
		q := store.Query{Phase: []finding.Phase{finding.Phase(phase)}, Severity: []finding.Severity{finding.Severity(sev)},
			State: state, Workload: workload, Text: text, After: after, Namespace: text, Check: phase}
		w, args, err := where(q)
		if err != nil {
			if !errors.Is(err, store.ErrInvalidQuery) {
				t.Fatalf("where(%+v): %v is not ErrInvalidQuery", q, err)
			}
			return
		}
		n := 0
		for _, c := range w {
			if c == '?' {
				n++
			}
		}
		if n != len(args) {
			t.Fatalf("where(%+v): %d placeholders, %d arguments", q, n, len(args))
		}
	})
}
