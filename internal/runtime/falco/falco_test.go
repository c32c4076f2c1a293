package falco

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/runtime/podmap"
)

func TestSeverityMapping(t *testing.T) {
	for prio, want := range map[string]finding.Severity{
		"Emergency": finding.Critical, "ALERT": finding.Critical, "Critical": finding.Critical,
		"Error": finding.High, "Warning": finding.Medium, "Notice": finding.Low,
		"Informational": finding.Info, "Debug": finding.Info, "strange": finding.Medium,
	} {
		if got := Severity(prio); got != want {
			t.Errorf("Severity(%q) = %s, want %s", prio, got, want)
		}
	}
}

func ingest(t *testing.T, m *podmap.Mapper) *Ingester {
	t.Helper()
	f, err := os.Open("testdata/falco.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := NewIngester(m)
	if err := in.Read(context.Background(), "testdata/falco.jsonl", f); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestFixtureBecomesFindings(t *testing.T) {
	in := ingest(t, nil)
	var got []string
	for _, f := range in.Findings() {
		got = append(got, fmt.Sprintf("%s %s %v", f.Severity, f.Resource, f.Evidence["count"]))
	}
	want := []string{
		"high Container/9a8b7c6d5e4f[agent] 1",
		"critical payments/Pod/db-0[db] 1",
		"medium payments/Pod/db-0[db] 1",
		"low shop/Pod/web-7d9c6b5f8-x2x9q[web] 2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if in.HostAlerts != 1 {
		t.Errorf("%d host alerts, want 1 (the alert with container.id host)", in.HostAlerts)
	}
	var lines []int
	for _, p := range in.Problems() {
		lines = append(lines, p.Line)
	}
	if fmt.Sprint(lines) != "[7 8]" {
		t.Errorf("problems on lines %v, want [7 8]: %v", lines, in.Problems())
	}
	crit := in.Findings()[1]
	if !strings.Contains(crit.Message, `Falco rule "Drop and execute new binary in container" (Critical): x as user root on node node-2`) {
		t.Errorf("message %q", crit.Message)
	}
	if !slicesContain(crit.References, "mitre:T1611") {
		t.Errorf("references %v lack the rule's MITRE tag", crit.References)
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestMappedToWorkload maps the pod to its Deployment, and a short container ID to its pod.
func TestMappedToWorkload(t *testing.T) {
	dep := &inventory.Workload{Kind: "Deployment", Namespace: "shop", Name: "web"}
	sts := &inventory.Workload{Kind: "StatefulSet", Namespace: "payments", Name: "db"}
	pod := func(ns, name, container, id string, w *inventory.Workload) *inventory.Pod {
		return &inventory.Pod{Workload: w, Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: container, ContainerID: "containerd://" + id}}}}}
	}
	dep.Namespace, sts.Namespace = "shop", "payments"
	s := &inventory.Snapshot{Pods: []*inventory.Pod{
		pod("shop", "web-7d9c6b5f8-x2x9q", "web", "bfd6d5a1e5e7aaaa", dep),
		pod("payments", "db-0", "db", "4f6c1e2d9a0b1111", sts),
		pod("ci", "agent-1", "agent", "9a8b7c6d5e4f0000000000000000", nil),
	}}
	var got []string
	for _, f := range ingest(t, podmap.New(s)).Findings() {
		got = append(got, f.Resource.String())
	}
	want := "ci/Pod/agent-1[agent] payments/StatefulSet/db[db] payments/StatefulSet/db[db] shop/Deployment/web[web]"
	if strings.Join(got, " ") != want {
		t.Errorf("resources %v, want %s", got, want)
	}
}

func FuzzDecode(f *testing.F) {
	data, _ := os.ReadFile("testdata/falco.jsonl")
	for _, l := range strings.Split(string(data), "\n") {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		a, err := Decode(line)
		if err != nil {
			return
		}
		in := NewIngester(nil)
		in.Add(a, "f", 1)
		in.Add(a, "f", 2)
		_ = in.Findings()
	})
}
