package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/report"
	"redoubt.dev/redoubt/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// exampleFiles are the plain manifests of the example (the Helm chart is rendered by the scanner,
// not by kubectl, so it is left out of the comparison).
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(example, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "charts" || (strings.HasPrefix(d.Name(), ".") && p != example)) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// comparable is a finding without its origin: what must be equal from manifests and from a cluster.
func comparable(d report.Document) []string {
	var out []string
	for _, f := range d.Findings {
		sup := ""
		if f.Suppressed != nil {
			sup = " (suppressed: " + f.Suppressed.Reason + ")"
		}
		r := f.Resource
		out = append(out, fmt.Sprintf("%s %s %s/%s/%s[%s]: %s%s", f.Severity, f.Check, r.Namespace, r.Kind, r.Name, r.Container, f.Message, sup))
	}
	slices.Sort(out)
	return out
}

func scanJSON(t *testing.T, args ...string) report.Document {
	t.Helper()
	code, out, errOut := redoubt(t, "", append([]string{"scan", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("redoubt scan %v: exit %d\n%s", args, code, errOut)
	}
	var d report.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// The example estate, created in a real cluster and scanned live, gives exactly the findings its
// manifests give: roll-up of ReplicaSets and Pods, the API server's defaults and admission
// changes must not change a verdict.
func TestLiveScanMatchesManifests(t *testing.T) {
	c := testenv.Shared(t)
	files := exampleFiles(t)
	c.Apply(t, files...)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	// Let the controller manager make the Deployments' ReplicaSets and Pods, so the live scan
	// has pods to roll up.
	err := wait.PollUntilContextTimeout(context.Background(), 300*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods("shop-web").List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 3, nil
	})
	if err != nil {
		t.Fatalf("the web Deployment's pods did not appear: %v", err)
	}

	dir := t.TempDir()
	for _, f := range files {
		rel, _ := filepath.Rel(example, f)
		copyFile(t, f, filepath.Join(dir, rel))
	}
	policy := filepath.Join(example, ".redoubt.yaml")
	fromFiles := scanJSON(t, dir, "--config", policy)
	live := scanJSON(t, "--kubeconfig", c.KubeconfigPath, "--config", policy)
	// A live cluster also has findings about itself that no manifest can give (infra phase: here,
	// a control plane that runs outside the cluster's view); they are about no object.
	var infra int
	live.Findings = slices.DeleteFunc(live.Findings, func(f finding.Finding) bool {
		if f.Phase == finding.PhaseInfra {
			infra++
			return true
		}
		return false
	})
	if infra == 0 {
		t.Error("the live scan says nothing about the cluster's control plane")
	}

	if live.Target.Kind != "cluster" || live.Target.ServerVersion != "v1.37.2" || live.Target.Context != testenv.ContextName {
		t.Errorf("live target = %+v", live.Target)
	}
	for _, f := range live.Findings {
		if f.Resource.Cluster != testenv.ContextName || (f.Resource.Kind != "Namespace" && f.Location.UID == "") {
			t.Errorf("live finding without its cluster or UID: %+v", f)
			break
		}
	}
	want := comparable(fromFiles)
	got := comparable(live)
	// The cluster has objects no manifest declares (the default namespace itself); the manifests'
	// findings must all be there, and anything more must be about such an object.
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("from manifests but not live: %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) && !strings.Contains(g, " default/Namespace/default[]: ") {
			t.Errorf("live but not from manifests: %s", g)
		}
	}

	// The live inventory rolls pods up to their workloads.
	code, out, errOut := redoubt(t, "", "inventory", "--kubeconfig", c.KubeconfigPath, "-n", "shop-web", "--format", "json")
	if code != 0 {
		t.Fatalf("inventory: exit %d: %s", code, errOut)
	}
	var inv report.InventoryDocument
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatal(err)
	}
	if len(inv.Workloads) != 1 || inv.Workloads[0].Name != "web" || inv.Workloads[0].Pods != 3 || len(inv.Workloads[0].Ingresses) != 1 {
		t.Errorf("live inventory of shop-web: %+v", inv.Workloads)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLiveScanOfUnreachableClusterIsOneLine(t *testing.T) {
	c := testenv.Shared(t)
	alice, err := c.Kubeconfig(testenv.AliceUser)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := redoubt(t, "", "scan", "--kubeconfig", alice)
	if code != 2 || !strings.Contains(errOut, "HTTP 403 Forbidden") || strings.Contains(errOut, "goroutine") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}
