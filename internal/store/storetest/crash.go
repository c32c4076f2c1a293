package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// CrashEnv names the variable that makes a test binary the writer CrashTest kills: its
// TestMain calls CrashChild when it is set, before running any test.
const CrashEnv = "REDOUBT_STORE_CRASH_CHILD"

// crashAudit is the findings of the crash writer's audit i: a window of findings that slides
// and changes size, so every audit opens, resolves and reopens findings.
func crashAudit(i int) []finding.Finding {
	off, n := (i*150)%900, 1500+(i%3)*500
	fs := make([]finding.Finding, n)
	for k := range fs {
		j := off + k
		fs[k] = mk([]string{"privileged-container", "run-as-root", "host-path"}[j%3], fmt.Sprintf("ns-%d", j%7), fmt.Sprintf("app-%05d", j), finding.Severity(j%5))
	}
	return fs
}

// CrashChild is the writer: it records audits into the store that open returns, one after
// another, and prints "committed N" after each commit returns, until it is killed.
func CrashChild(open func(ctx context.Context, target string) (store.Store, error)) {
	ctx := context.Background()
	s, err := open(ctx, os.Getenv(CrashEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	// Every change is to be notified, so the outbox must agree with the history too.
	if err := s.(store.Outbox).SetReceivers(ctx, []store.Receiver{{Name: "all", Resolved: true}}); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		if _, err := s.RecordScan(ctx, store.ScopeCluster, at, at, crashAudit(i), "audit "+strconv.Itoa(i)); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(4)
		}
		fmt.Printf("committed %d\n", i)
	}
}

// CrashTest runs the test binary again as a writer of audits into target (a file or a
// database URL, passed to the child's CrashChild), SIGKILLs it in the middle of a write after
// several commits, and checks with reopen that no committed audit was lost and that every
// stored audit is whole: its scan row agrees with its findings, their history and the
// notifications it made, and nothing of the audit being written when the writer died is there.
func CrashTest(t *testing.T, target string, reopen func(t *testing.T) store.Store) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), CrashEnv+"="+target)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := -1
	lines := bufio.NewScanner(out)
	const kills = 8
	for lines.Scan() {
		if _, err := fmt.Sscanf(lines.Text(), "committed %d", &committed); err != nil {
			t.Fatalf("writer said %q", lines.Text())
		}
		if committed == kills {
			// The next audit's transaction is under way now: the writer starts it as soon as
			// the previous one returns. Kill it a little way in.
			time.Sleep(15 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer ended with %v before it was killed (after %d commits); stderr:\n%s", werr, committed+1, stderr.String())
	}

	s := reopen(t)
	ctx := t.Context()
	scans, err := s.Scans(ctx, store.ScopeCluster, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// Audits 0..committed were acknowledged; the one being written may have committed just
	// before the kill, but nothing after it can exist.
	if n := len(scans); n < committed+1 || n > committed+2 {
		t.Fatalf("%d audits stored after %d acknowledged commits", n, committed+1)
	}
	t.Logf("killed after %d acknowledged commits; %d audits stored", committed+1, len(scans))
	events := map[int64]int{}
	recs := all(t, s, store.Query{Scope: store.ScopeCluster})
	for _, r := range recs {
		h, err := s.History(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h {
			events[e.ScanID]++
		}
	}
	// The outbox was written in the same transactions: one notification per change.
	notified := map[int64]int{}
	o := s.(store.Outbox)
	for {
		ns, err := o.ClaimNotifications(ctx, "all", "checker", scans[0].Finished, time.Hour, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) == 0 {
			break
		}
		for _, n := range ns {
			notified[n.ScanID]++
		}
	}
	for _, sc := range scans {
		if got, want := notified[sc.ID], sc.New+sc.Reopened+sc.Resolved; got != want {
			t.Errorf("scan %d: %d notifications, the scan row counts %d changes", sc.ID, got, want)
		}
		delete(notified, sc.ID)
	}
	if len(notified) > 0 {
		t.Errorf("notifications of scans that are not stored: %v", notified)
	}
	for _, sc := range scans {
		i, err := strconv.Atoi(strings.TrimPrefix(sc.Note, "audit "))
		if err != nil {
			t.Fatalf("scan %d has note %q", sc.ID, sc.Note)
		}
		if want := len(crashAudit(i)); sc.Findings != want {
			t.Errorf("audit %d: scan row says %d findings, the audit had %d", i, sc.Findings, want)
		}
		if got, want := events[sc.ID], sc.New+sc.Reopened+sc.Resolved; got != want {
			t.Errorf("audit %d (scan %d): %d history events, the scan row counts %d changes", i, sc.ID, got, want)
		}
		delete(events, sc.ID)
	}
	if len(events) > 0 {
		t.Errorf("history events of scans that are not stored: %v", events)
	}
	last := scans[0]
	open := 0
	for _, r := range recs {
		if r.State == store.StateOpen {
			open++
			if !r.LastSeen.Equal(last.Finished) {
				t.Errorf("open finding %s last seen %v, the last audit ran at %v", r.ID, r.LastSeen, last.Finished)
				break
			}
		}
	}
	if open != last.Findings {
		t.Errorf("%d open findings, the last audit produced %d", open, last.Findings)
	}
	// The store takes writes again.
	at := last.Finished.Add(time.Minute)
	if _, err := s.RecordScan(ctx, store.ScopeCluster, at, at, crashAudit(0), "after the crash"); err != nil {
		t.Errorf("write after the crash: %v", err)
	}
}

// all reads every page of a query.
func all(t *testing.T, s store.Store, q store.Query) []store.Record {
	t.Helper()
	q.Limit = 1000
	var out []store.Record
	for {
		recs, next, err := s.Findings(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
		if next == "" {
			return out
		}
		q.After = next
	}
}
