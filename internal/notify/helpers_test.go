package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
	"redoubt.dev/redoubt/internal/store/sqlite"
	"redoubt.dev/redoubt/internal/store/sqlstore"
)

func openStoreB(b *testing.B) (*sqlstore.DB, error) {
	return sqlite.Open(b.Context(), filepath.Join(b.TempDir(), sqlite.FileName))
}

// openStore opens a real SQLite store file in dir.
func openStore(t *testing.T, dir string) *sqlstore.DB {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mk(check, name string, sev finding.Severity) finding.Finding {
	return finding.Finding{
		Check: check, Phase: finding.PhaseDeploy, Severity: sev, Title: "Title of " + check,
		Message:  fmt.Sprintf("container app of shop/%s breaks %s", name, check),
		Resource: finding.Resource{Cluster: "test", Namespace: "shop", Kind: "Deployment", Name: name, Container: "app"},
		Location: finding.Location{UID: "uid-" + name},
	}
}

// many makes n distinct findings of one severity.
func many(n int, sev finding.Severity) []finding.Finding {
	out := make([]finding.Finding, n)
	for i := range out {
		out[i] = mk("privileged-container", fmt.Sprintf("web-%03d", i), sev)
	}
	return out
}

func record(t *testing.T, s store.Store, fs ...finding.Finding) *store.Change {
	t.Helper()
	now := time.Now()
	ch, err := s.RecordScan(t.Context(), store.ScopeCluster, now.Add(-time.Second), now, fs, "test audit")
	if err != nil {
		t.Fatalf("RecordScan(%d findings): %v", len(fs), err)
	}
	return ch
}

// sink is a real HTTP receiver on loopback that keeps what it was sent. fail makes it answer
// 500 to that many messages first; hang makes every request wait until the test ends.
type sink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs [][]byte
	auth []string
	fail int
	hang chan struct{}
}

func newSink(t *testing.T) *sink { return newSinkB(t) }

func newSinkB(t testing.TB) *sink {
	k := &sink{}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		hang, fail := k.hang, k.fail > 0
		if fail {
			k.fail--
		}
		k.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		if fail {
			http.Error(w, "receiver is down", http.StatusInternalServerError)
			return
		}
		k.mu.Lock()
		k.msgs = append(k.msgs, body)
		k.auth = append(k.auth, r.Header.Get("Authorization"))
		k.mu.Unlock()
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(func() {
		k.mu.Lock()
		if k.hang != nil {
			close(k.hang)
			k.hang = nil
		}
		k.mu.Unlock()
		k.srv.Close()
	})
	return k
}

func (k *sink) payloads(t *testing.T) []Payload {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []Payload
	for _, m := range k.msgs {
		var p Payload
		if err := json.Unmarshal(m, &p); err != nil {
			t.Fatalf("the receiver got a body that is not the payload: %v\n%s", err, m)
		}
		out = append(out, p)
	}
	return out
}

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.msgs)
}

// items counts every notification the sink got, by notification ID.
func items(t *testing.T, k *sink) map[int64]int {
	got := map[int64]int{}
	for _, p := range k.payloads(t) {
		for _, it := range p.Items {
			got[it.ID]++
		}
	}
	return got
}

// waitFor waits until cond holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// start runs d until the test ends and returns a function that stops it and waits.
func start(t *testing.T, d *Dispatcher) (stop func()) { return startB(t, d) }

func startB(t testing.TB, d *Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func quickOpts(t *testing.T) Options {
	return Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Owner: t.Name(),
		Logger: slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// testWriter sends the dispatcher's JSON logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func webhookTo(name string, k *sink, sev finding.Severity, resolved bool) *Webhook {
	return NewWebhook(store.Receiver{Name: name, MinSeverity: sev, Resolved: resolved}, k.srv.URL, "https://redoubt.example.test", 2*time.Second)
}
