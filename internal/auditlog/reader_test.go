package auditlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readAll(t *testing.T, r *Reader) []*Event {
	t.Helper()
	var out []*Event
	if err := r.Each(context.Background(), func(e *Event) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRotatedFilesAreReadOldestFirst(t *testing.T) {
	dir := t.TempDir()
	line := func(id string) string {
		return event(id, 0, "get", "alice", "/api/v1/namespaces", `{"resource":"namespaces"}`, 200, "") + "\n"
	}
	writeFile(t, filepath.Join(dir, "audit.log"), []byte(line("live")))
	writeFile(t, filepath.Join(dir, "audit.log.1"), []byte(line("one")))
	writeFile(t, filepath.Join(dir, "audit.log.2.gz"), gz(t, line("two")))
	writeFile(t, filepath.Join(dir, "audit.log.10"), []byte(line("ten")))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("not a log"))
	for _, arg := range []string{dir, filepath.Join(dir, "audit.log*")} {
		in, err := Inputs([]string{arg}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range readAll(t, NewReader(in)) {
			ids = append(ids, e.AuditID)
		}
		if got := strings.Join(ids, " "); got != "ten two one live" {
			t.Errorf("%s: read %q, want oldest first: ten two one live", arg, got)
		}
	}
}

func TestSortRotatedTimestampedBackups(t *testing.T) {
	got := SortRotated([]string{"/l/audit.log", "/l/audit-2026-12-02T01-00-00.000.log", "/l/audit-2026-12-01T23-00-00.000.log.gz"})
	want := "/l/audit-2026-12-01T23-00-00.000.log.gz /l/audit-2026-12-02T01-00-00.000.log /l/audit.log"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestMalformedLinesAreCountedWithTheirLineNumbers(t *testing.T) {
	good := event("g", 0, "get", "alice", "/api/v1/namespaces", `{"resource":"namespaces"}`, 200, "")
	long := `{"kind":"Event","auditID":"x","verb":"get","requestURI":"` + strings.Repeat("a", MaxLineBytes) + `"}`
	input := strings.Join([]string{
		good,
		"not json at all",
		`{"kind":"Event","auditID":`, // cut short
		"",
		long,
		`{"kind":"Pod","apiVersion":"v1"}`,
		good,
	}, "\n")
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	writeFile(t, path, []byte(input))
	r := NewReader(fileInputs([]string{path}))
	evs := readAll(t, r)
	if len(evs) != 2 || evs[0].Line != 1 || evs[1].Line != 7 {
		t.Fatalf("read %d events; want the good lines 1 and 7", len(evs))
	}
	var lines []string
	for _, p := range r.Problems() {
		if p.File != path {
			t.Errorf("problem names file %q, want %q", p.File, path)
		}
		lines = append(lines, fmt.Sprint(p.Line))
	}
	if got := strings.Join(lines, ","); got != "2,3,5,6" {
		t.Errorf("problems on lines %s, want 2,3,5,6: %v", got, r.Problems())
	}
	if s := r.Stats(); s.Malformed != 4 || s.Events != 2 || s.Lines != 7 {
		t.Errorf("stats %+v", s)
	}
}

func TestStdinAndEventList(t *testing.T) {
	list := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` +
		event("a", 0, "get", "alice", "/api", "", 200, "") + "," + event("b", 1, "get", "alice", "/api", "", 200, "") + `]}`
	in, err := Inputs([]string{"-"}, strings.NewReader(list+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	evs := readAll(t, NewReader(in))
	if len(evs) != 2 || evs[1].AuditID != "b" || evs[1].File != "-" {
		t.Fatalf("got %d events from an EventList on stdin", len(evs))
	}
}

func TestMissingInputIsAnError(t *testing.T) {
	if _, err := Inputs([]string{filepath.Join(t.TempDir(), "nope.log")}, nil); err == nil || !strings.Contains(err.Error(), "nope.log") {
		t.Errorf("err %v, want one naming the file", err)
	}
	if _, err := Inputs([]string{filepath.Join(t.TempDir(), "*.log")}, nil); err == nil {
		t.Error("a pattern matching nothing is not an error")
	}
}

// FuzzDecodeLine feeds arbitrary lines to the decoder and the detections: nothing may panic.
func FuzzDecodeLine(f *testing.F) {
	f.Add([]byte(event("e1", 0, "create", "alice", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh", `{"resource":"pods","namespace":"shop","name":"web-0","subresource":"exec"}`, 101, "")))
	f.Add([]byte(event("c1", 0, "create", "bob", "/api/v1/namespaces/shop/pods", `{"resource":"pods","namespace":"shop"}`, 201, privilegedPodBody)))
	f.Add([]byte(`{"kind":"EventList","items":[{"verb":"get","objectRef":{"resource":"secrets"}}]}`))
	f.Add([]byte(`{"verb":"create","objectRef":{"resource":"clusterrolebindings","apiGroup":"rbac.authorization.k8s.io"},"responseStatus":{"code":201},"requestObject":{"roleRef":{"name":"cluster-admin","kind":"ClusterRole"}}}`))
	f.Add([]byte(`{"verb":"get","user":{"username":"system:serviceaccount:a"},"sourceIPs":["::ffff:1.2.3.4","x"]}`))
	f.Add([]byte(`{"verb":"get","user":{"username":"system:serviceaccount:a:b"},"sourceIPs":["10.0.0.1","`))
	f.Fuzz(func(t *testing.T, line []byte) {
		withRanges := NewAnalyzer(Options{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
		_ = withRanges.Wants(line)
		evs, err := DecodeLine(line)
		if err != nil {
			return
		}
		a := NewAnalyzer(Options{PodCIDRs: nil, BurstThreshold: 1})
		for _, e := range evs {
			a.Observe(e)
		}
		_ = a.Findings()
	})
}

func TestCancelledReadIsAnError(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(event(fmt.Sprint(i), i, "get", "alice", "/api", "", 200, "") + "\n")
	}
	in, _ := Inputs([]string{"-"}, strings.NewReader(b.String()))
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := NewReader(in).Each(ctx, func(*Event) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if err == nil {
		t.Fatal("a cancelled read returned no error: its findings would pass for complete")
	}
}
