package tetragon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/netpol/flow"
)

func ingest(t *testing.T) *Ingester {
	t.Helper()
	f, err := os.Open("testdata/tetragon.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := NewIngester(nil)
	if err := in.Read(context.Background(), "testdata/tetragon.jsonl", f); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestFixtureBecomesFindingsAndFlows(t *testing.T) {
	in := ingest(t)
	var got []string
	for _, f := range in.Findings() {
		got = append(got, fmt.Sprintf("%s %s %s", f.Check, f.Severity, f.Resource))
	}
	want := []string{
		"tetragon-policy-event high default/Pod/xwing[spaceship]",
		"tetragon-shell-in-container medium default/Pod/xwing[spaceship]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	shell := in.Findings()[1]
	if !strings.Contains(shell.Message, `shell /bin/bash -c "curl https://ebpf.io/applications/#tetragon" started by /usr/local/bin/containerd-shim-runc-v2 on node kind-control-plane`) {
		t.Errorf("message %q", shell.Message)
	}
	if p := in.Problems(); len(p) != 1 || p[0].Line != 7 {
		t.Errorf("problems %v, want line 7 only", p)
	}
	if len(in.Flows()) != 1 {
		t.Fatalf("%d flows, want the tcp_connect", len(in.Flows()))
	}
}

// TestFlowsReadByNetpol writes the flows as JSON lines and reads them back with the reader
// `redoubt netpol traffic` uses.
func TestFlowsReadByNetpol(t *testing.T) {
	in := ingest(t)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, f := range in.Flows() {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	path := t.TempDir() + "/flows.jsonl"
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := flow.ReadFile(path, flow.DefaultLimits)
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("netpol's reader: %v %v", err, res)
	}
	if len(res.Flows) != 1 {
		t.Fatalf("read %d flows", len(res.Flows))
	}
	f := res.Flows[0]
	if f.Src.IP.String() != "10.244.0.6" || f.Dst.IP.String() != "104.198.14.52" || f.DstPort != 443 || f.Protocol != "TCP" {
		t.Errorf("flow %+v", f)
	}
	if f.Src.Namespace != "default" || f.Src.Workload != "xwing" {
		t.Errorf("source workload %+v, want default/xwing", f.Src)
	}
}

func FuzzDecode(f *testing.F) {
	data, _ := os.ReadFile("testdata/tetragon.jsonl")
	for _, l := range strings.Split(string(data), "\n") {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := Decode(line)
		if err != nil {
			return
		}
		in := NewIngester(nil)
		in.Add(e, "f", 1)
		in.Add(e, "f", 2)
		_ = in.Findings()
	})
}
