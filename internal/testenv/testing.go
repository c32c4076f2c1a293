package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SkipEnv is the environment variable that, set to 1, skips every test that needs a cluster.
const SkipEnv = "REDOUBT_SKIP_CLUSTER"

// buildHint is added to a failure when the test's deadline cut a build short.
const buildHint = "the first build of the control-plane binaries takes 5-10 minutes: run " +
	"`go run ./cmd/devcluster -build-only` once, or give go test a longer -timeout"

// ForTest starts a cluster for one test and stops it when the test ends. It skips the test
// under -short or when REDOUBT_SKIP_CLUSTER=1; any other failure to build or start the
// cluster fails the test, so CI never skips end-to-end tests by accident. At most one Options
// may be given.
func ForTest(t testing.TB, opts ...Options) *Cluster {
	t.Helper()
	skipUnlessCluster(t)
	if len(opts) > 1 {
		t.Fatalf("testenv.ForTest: got %d Options, want at most 1", len(opts))
	}
	var o Options
	if len(opts) == 1 {
		o = opts[0]
	}
	c := start(t, o)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: last lines of the kube-apiserver log:\n%s", c.LogTail("kube-apiserver"))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("testenv: stopping the cluster: %v", err)
		}
	})
	return c
}

// shared is the one cluster per test binary that Shared hands out and Main stops. It is the
// package's only state, and exists because `go test` gives no other hook for a cluster that
// lives across tests.
var shared struct {
	mainRunning atomic.Bool
	once        sync.Once
	cluster     *Cluster
	err         error
}

// Shared returns a cluster started with the default Options that all tests of the test binary
// share; use it when tests only add objects in their own namespaces, and ForTest when a test
// needs particular flags or a pristine cluster. It skips like ForTest. The package's TestMain
// must call Main, which stops the cluster after the tests:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Shared(t testing.TB) *Cluster {
	t.Helper()
	skipUnlessCluster(t)
	if !shared.mainRunning.Load() {
		t.Fatal("testenv.Shared needs the package's TestMain to call testenv.Main, which stops the cluster: " +
			"func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }")
	}
	shared.once.Do(func() {
		t.Helper()
		shared.cluster, shared.err = startOrError(t, Options{})
	})
	if shared.err != nil {
		t.Fatalf("testenv: the shared cluster did not start: %v", shared.err)
	}
	return shared.cluster
}

// Main runs the tests and then stops the cluster Shared started, if any. Call it from
// TestMain: func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }.
func Main(m *testing.M) int {
	shared.mainRunning.Store(true)
	code := m.Run()
	if c := shared.cluster; c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping the shared cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// skipUnlessCluster skips the test when the environment asks for no cluster.
func skipUnlessCluster(t testing.TB) {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping a test that runs a real etcd and kube-apiserver", SkipEnv)
	}
	if testing.Short() {
		t.Skip("-short: skipping a test that runs a real etcd and kube-apiserver")
	}
}

// start starts a cluster or fails the test.
func start(t testing.TB, o Options) *Cluster {
	t.Helper()
	c, err := startOrError(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startOrError builds the binaries if needed and starts a cluster, stopping a little before
// the test binary's deadline so a slow build fails with an explanation instead of a panic.
func startOrError(t testing.TB, o Options) (*Cluster, error) {
	t.Helper()
	ctx := t.Context()
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
			defer cancel()
		}
	}
	begin := time.Now()
	c, err := Start(ctx, o)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (%s)", err, buildHint)
		}
		return nil, err
	}
	t.Logf("testenv: cluster %s ready in %s (directory %s)", c.Server, time.Since(begin).Round(time.Millisecond), c.Dir)
	return c, nil
}
