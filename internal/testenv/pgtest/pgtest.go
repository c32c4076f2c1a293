// Package pgtest runs a real PostgreSQL server for tests: Debian's binaries, a cluster made
// with initdb in a temporary directory, the server on a free loopback port (and a private Unix
// socket directory) as the unprivileged postgres user, one database per test, and everything
// stopped and removed at the end. Without PostgreSQL installed the tests skip and say why,
// unless REDOUBT_REQUIRE_POSTGRES=1 is set (CI), in which case they fail.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireEnv names the variable that turns a missing PostgreSQL from a skip into a failure.
const RequireEnv = "REDOUBT_REQUIRE_POSTGRES"

// BinEnv names the variable that points at a directory of PostgreSQL binaries (initdb,
// postgres); without it the newest /usr/lib/postgresql/*/bin is used, then PATH.
const BinEnv = "REDOUBT_POSTGRES_BIN"

// Server is one running PostgreSQL.
type Server struct {
	dir  string // data, socket and log live under it
	port int
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how the server exited, once done is closed
	seq  atomic.Int64
}

// BinDir finds the PostgreSQL binaries, or says why there are none.
func BinDir() (string, error) {
	if d := os.Getenv(BinEnv); d != "" {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinEnv, d, err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres, none on PATH): `apt-get install -y postgresql`, or set " + BinEnv)
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// skipOrFail skips the test for a missing PostgreSQL, or fails it under REDOUBT_REQUIRE_POSTGRES.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("pgtest: %v (%s=1 requires PostgreSQL)", err, RequireEnv)
	}
	t.Skipf("pgtest: %v (set %s=1 to make this a failure)", err, RequireEnv)
}

// Start runs a new server. PostgreSQL refuses to run as root, so as root the cluster belongs
// to the postgres user and the server runs as it; otherwise as the current user.
func Start(ctx context.Context) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	// A short path: a Unix socket's path must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, done: make(chan struct{})}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user to run as: %w (the postgresql package creates postgres)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data, sock, logf := filepath.Join(dir, "data"), filepath.Join(dir, "sock"), filepath.Join(dir, "postgres.log")
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "LC_ALL=C")
		// Setpgid keeps a Ctrl-C for us; Pdeathsig stops the server if the test binary dies
		// (a -timeout panic), so no server outlives its tests.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
		return c
	}
	if err := os.Mkdir(sock, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		_ = os.Chown(sock, int(cred.Uid), int(cred.Gid))
	}
	if out, err := run("initdb", "--pgdata", data, "--username", "redoubt", "--auth", "trust", "--encoding", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb in %s: %w\n%s", data, err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.port = port
	lf, err := os.Create(logf)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// fsync=off: the data is thrown away after the tests, and durability against the server's
	// own crash is not what they test (a killed client is: its transactions are the unit).
	s.cmd = run("postgres", "-D", data, "-p", strconv.Itoa(port), "-k", sock,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB", "-c", "max_connections=200")
	s.cmd.Stdout, s.cmd.Stderr = lf, lf
	if err := s.cmd.Start(); err != nil {
		lf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		lf.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		tail := s.LogTail()
		s.Stop()
		return nil, fmt.Errorf("%w\nlast lines of the PostgreSQL log:\n%s", err, tail)
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %w", within, err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the connection URL of a database on the server, over loopback TCP.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://redoubt@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Port is the server's loopback port.
func (s *Server) Port() int { return s.port }

// LogTail returns the last lines of the server's log.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// CreateDatabase makes a new empty database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and removes its files.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	return os.RemoveAll(s.dir)
}

// shared is the one server per test binary that Database hands out databases on and Main
// stops: `go test` has no other hook for a server that lives across tests.
var shared struct {
	mainRunning atomic.Bool
	once        sync.Once
	server      *Server
	err         error
}

// Main runs the tests and then stops the shared server, if one was started. Call it from the
// package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	shared.mainRunning.Store(true)
	code := m.Run()
	if shared.server != nil {
		if err := shared.server.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping PostgreSQL: %v\n", err)
		}
	}
	return code
}

// Shared returns the test binary's server, starting it on first use; it skips (or fails, see
// RequireEnv) when PostgreSQL is not installed.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !shared.mainRunning.Load() {
		t.Fatal("pgtest.Shared needs the package's TestMain to call pgtest.Main, which stops the server: " +
			"func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
	}
	if _, err := BinDir(); err != nil {
		skipOrFail(t, err)
	}
	shared.once.Do(func() { shared.server, shared.err = Start(context.Background()) })
	if shared.err != nil {
		t.Fatalf("pgtest: PostgreSQL did not start: %v", shared.err)
	}
	return shared.server
}

// Database returns the URL of a new, empty database on the shared server, for one test.
func Database(t testing.TB) string {
	t.Helper()
	s := Shared(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.seq.Add(1))
	u, err := s.CreateDatabase(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Dir is the directory holding the server's data, socket and log.
func (s *Server) Dir() string { return s.dir }
