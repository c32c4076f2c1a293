package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// tailLines is how many lines of a log an error quotes.
const tailLines = 40

// process is one control-plane binary we started. Its stdout and stderr go to one log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited and been reaped
	err     error         // the result of Wait; read only after done is closed
}

// startProcess runs bin with args, logging into dir/<name>.log. The process is not tied to
// any context: it lives until stop.
func startProcess(dir, name, bin string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testenv: creating the log of %s: %w", name, err)
	}
	// The child writes straight into the file; we keep no pipe and no copying goroutine.
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testenv: starting %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended, with the end of its log; call it only after done.
func (p *process) exitError(what string) error {
	return fmt.Errorf("testenv: %s %s (%v); last lines of %s:\n%s", p.name, what, p.err, p.logPath, p.tail())
}

// tail returns the last lines of the process's log.
func (p *process) tail() string {
	data, err := readTail(p.logPath, 64<<10)
	if err != nil {
		return fmt.Sprintf("(reading the log: %v)", err)
	}
	return lastLines(data, tailLines)
}

// stop asks the process to terminate, kills it after grace, and waits until it is reaped.
// Stopping a process that already exited is not an error.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill()
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testenv: killing %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("testenv: %s (pid %d) still running 10s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// flagArgs renders flags as --name=value arguments, sorted so runs are reproducible.
func flagArgs(flags map[string]string) []string {
	args := make([]string, 0, len(flags))
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		args = append(args, "--"+name+"="+flags[name])
	}
	return args
}

// mergeFlags returns defaults with overrides applied: an override replaces a default, and an
// override with an empty value removes the flag.
func mergeFlags(defaults, overrides map[string]string) map[string]string {
	out := maps.Clone(defaults)
	for name, value := range overrides {
		name = strings.TrimLeft(name, "-")
		if value == "" {
			delete(out, name)
		} else {
			out[name] = value
		}
	}
	return out
}

// freePorts returns n distinct loopback ports that were free a moment ago. All listeners stay
// open until every port is picked, so the ports differ from each other.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testenv: finding a free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// readTail reads at most max bytes from the end of a file.
func readTail(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if off := fi.Size() - max; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(f)
}

// lastLines returns the last n lines of data, each indented so they stand out in an error.
func lastLines(data []byte, n int) string {
	lines := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "\t(empty)"
	}
	return "\t" + strings.Join(lines, "\n\t")
}
