package vuln

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the kill test run a real update in a child process: this test binary, told by
// the environment to update and exit.
func TestMain(m *testing.M) {
	if dir := os.Getenv("REDOUBT_VULN_CHILD_DIR"); dir != "" {
		_, err := Update(context.Background(), dir, UpdateOptions{Mirror: os.Getenv("REDOUBT_VULN_CHILD_MIRROR"),
			Ecosystems: []string{"Go", "npm"}, Progress: os.Stderr})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child update:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild starts an update of dir from mirror in a child process and returns it with its
// stderr.
func startChild(t *testing.T, dir, mirror string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REDOUBT_VULN_CHILD_DIR="+dir, "REDOUBT_VULN_CHILD_MIRROR="+mirror)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	sc.Split(scanLinesOrCR)
	return cmd, sc
}

// scanLinesOrCR splits progress output on newlines and carriage returns.
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// TestKillMidUpdate kills real update processes at several points (mid-download, as the build
// starts, and during the build) and checks each time that the previous database is whole and
// answers as before, even for a reader that had it open throughout.
func TestKillMidUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	if _, err := Import(context.Background(), dir, mirrorDir(t, map[string][]string{"npm": ghsaFiles(t)}), UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	reader, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	lodash := []Package{{Ecosystem: "npm", Name: "lodash", Version: "4.17.15"}, {Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.0"}}
	checkOld := func(when string) {
		t.Helper()
		for _, d := range []*DB{reader, mustOpen(t, dir)} {
			ms, err := d.Match(context.Background(), lodash)
			if err != nil || len(ms) != 2 || ms[0].Index != 0 {
				t.Errorf("%s: the previous database answers %v, %v", when, ms, err)
			}
			if s := d.Status(); len(s.Sources) != 1 || s.Sources[0].Ecosystem != "npm" {
				t.Errorf("%s: status %+v", when, s.Sources)
			}
			if d != reader {
				d.Close()
			}
		}
	}
	mirror := mirrorDir(t, map[string][]string{"Go": goVulnDBFiles(t), "npm": ghsaFiles(t)})

	// 1. Mid-download: the server sends half of Go/all.zip, then stalls until the kill.
	stalled := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(mirror, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		stalled <- struct{}{}
		<-r.Context().Done()
	}))
	defer slow.Close()
	cmd, _ := startChild(t, dir, slow.URL)
	select {
	case <-stalled:
	case <-time.After(30 * time.Second):
		t.Fatal("the child never started downloading")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	checkOld("killed mid-download")

	// 2. During the build, at increasing delays after it starts.
	fast := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer fast.Close()
	killed := 0
	for _, delay := range []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond} {
		cmd, sc := startChild(t, dir, fast.URL)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "building database") {
				break
			}
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		go io.Copy(io.Discard, struct{ io.Reader }{readerOf(sc)})
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Logf("delay %v: the child finished before the kill (%v)", delay, err)
			break
		}
		killed++
		checkOld(fmt.Sprintf("killed %v into the build", delay))
	}
	if killed == 0 {
		t.Fatal("no update was killed before it finished")
	}
	t.Logf("killed %d updates during the build", killed)

	// 3. A later update finishes, cleans up what the killed ones left, and the old reader
	// still answers from the file it opened.
	res, err := Update(context.Background(), dir, UpdateOptions{Mirror: fast.URL, Ecosystems: []string{"Go", "npm"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status.Ecosystems["Go"] < 4700 {
		t.Errorf("final update: %v", res.Status.Ecosystems)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("left behind after a finished update: %s", e.Name())
		}
	}
	if ms, err := reader.Match(context.Background(), lodash); err != nil || len(ms) != 2 {
		t.Errorf("a reader opened before the update: %v %v", ms, err)
	}
	d := mustOpen(t, dir)
	defer d.Close()
	if ms, _ := d.Match(context.Background(), lodash); len(ms) < 5 {
		t.Errorf("the new database: %d matches", len(ms))
	}
}

func mustOpen(t *testing.T, dir string) *DB {
	t.Helper()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// readerOf drains what is left of a scanner's input.
type scanReader struct{ sc *bufio.Scanner }

func readerOf(sc *bufio.Scanner) io.Reader { return scanReader{sc} }

func (r scanReader) Read(p []byte) (int, error) {
	if !r.sc.Scan() {
		return 0, io.EOF
	}
	return copy(p, r.sc.Bytes()), nil
}
